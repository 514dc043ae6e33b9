import 'reflect-metadata';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  Min,
  NotEquals,
  ValidateBy,
  ValidateIf,
  type ValidationArguments,
  ValidateNested,
  ValidationError,
  validateSync,
} from 'class-validator';
import type { Pool } from 'pg';
import {
  defaultUserIdentifier,
  defaultUserLoader,
  defaultUserResolver,
} from '../auth/user-identity';
import { EventStreamConfigError } from '../errors/eventstream.errors';
import {
  DEFAULT_CONNECTION_SUBSCRIPTION_MAX,
  GRIP_MAX_DATA_BYTES,
  type GripSettings,
  SUBSCRIPTIONS_BESIDES_CHANNELS,
  resolveGripSettings,
} from '../grip/grip-config';
import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import { clientAddress } from '../limits/stream-slots';
import { defaultMaxStreams, readOpenFilesLimit } from '../limits/open-files-limit';
import type { EventStreamConfig, RetentionPolicy } from './eventstream-config';
import type { EventStreamModuleOptions } from './eventstream-options.interface';

const DAY_MS = 24 * 60 * 60 * 1000;

const shown = (args: ValidationArguments) => String(args.value);

const positiveInt = (max = Number.MAX_SAFE_INTEGER) => [
  IsInt({ message: (args) => `${args.property} must be an integer, got ${shown(args)}` }),
  Min(1, { message: (args) => `${args.property} must be at least 1, got ${shown(args)}` }),
  Max(max, { message: (args) => `${args.property} must be at most ${max}, got ${shown(args)}` }),
];

/** Like `@IsOptional()`, but only `undefined` means "not given": null is a mistake. */
const Optional = () => ValidateIf((_: object, value: unknown) => value !== undefined);

function applyAll(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => decorators.forEach((decorate) => decorate(target, key));
}

class RetentionInput {
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @applyAll(...positiveInt())
  maxEventsPerChannel?: number | null;

  @ValidateIf((_, value) => value !== null && value !== undefined)
  @applyAll(...positiveInt())
  maxAgeMs?: number | null;

  @Optional()
  @applyAll(...positiveInt(DAY_MS))
  intervalMs?: number;
}

class LimitsInput {
  @Optional()
  @applyAll(...positiveInt(1024))
  maxChannelLength?: number;

  @Optional()
  @applyAll(...positiveInt(1024))
  maxEventTypeLength?: number;

  @Optional()
  @applyAll(...positiveInt(16 * 1024 * 1024))
  maxDataBytes?: number;
}

class CorsInput {
  @ValidateIf((_, value) => value !== '*')
  @IsArray({ message: "origins must be '*' or an array of origins" })
  @IsString({ each: true, message: 'origins must hold origin strings' })
  origins!: readonly string[] | '*';

  @Optional()
  @IsBoolean({ message: 'credentials must be true or false' })
  credentials?: boolean;

  @Optional()
  @applyAll(...positiveInt(86_400))
  maxAgeSeconds?: number;
}

class GripInput {
  @ValidateBy({
    name: 'isGripUrl',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' ||
        (Array.isArray(value) && value.length > 0 && value.every((url) => typeof url === 'string')),
      defaultMessage: () => 'url must be a GRIP URL string or a non-empty array of them',
    },
  })
  url!: string | readonly string[];

  @Optional()
  @IsIn(['direct', 'refuse'], {
    message: (args) => `unsignedRequests must be 'direct' or 'refuse', got ${shown(args)}`,
  })
  unsignedRequests?: 'direct' | 'refuse';

  @Optional()
  @Matches(/^\/[^?#\s]*$/, {
    message: 'publicPath must be a path starting with / (no query, fragment or spaces)',
  })
  @IsString({ message: 'publicPath must be a string' })
  publicPath?: string;

  @Optional()
  @IsString({ message: 'linkSecret must be a string' })
  linkSecret?: string;

  @Optional()
  @applyAll(...positiveInt(600_000))
  publishTimeoutMs?: number;

  @Optional()
  @applyAll(...positiveInt(100_000))
  @Min(SUBSCRIPTIONS_BESIDES_CHANNELS + 1, {
    message: (args) =>
      `connectionSubscriptionMax must be at least ${SUBSCRIPTIONS_BESIDES_CHANNELS + 1}, got ${shown(args)}`,
  })
  connectionSubscriptionMax?: number;
}

const isFunction = (value: unknown) => typeof value === 'function';
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

class StreamsPerClientInput {
  @applyAll(...positiveInt())
  max!: number;

  @Optional()
  @ValidateBy({
    name: 'isFunction',
    validator: {
      validate: isFunction,
      defaultMessage: () => 'key must be a function of the request returning a string',
    },
  })
  key?: unknown;
}

class OptionsInput {
  @Optional()
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'databaseUrl must be a postgres:// or postgresql:// URL',
  })
  databaseUrl?: string;

  @Optional()
  @IsObject({ message: 'pool must be a pg Pool' })
  pool?: Pool;

  @Optional()
  @Matches(/^(?!pg_)[a-z_][a-z0-9_]{0,62}$/, {
    message:
      'schema must be a lower-case Postgres identifier (a-z, 0-9, _; not starting with pg_), got $value',
  })
  // Sharing `public` would put our rows in the app's own `_prisma_migrations`.
  @NotEquals('public', {
    message: 'schema cannot be "public": the library keeps its tables and migration history apart',
  })
  // Listed last because the first problem found is the one reported.
  @IsString({ message: 'schema must be a string' })
  schema?: string;

  @Optional()
  @IsBoolean({ message: 'migrate must be true or false' })
  migrate?: boolean;

  @Optional()
  @applyAll(...positiveInt(1000))
  poolSize?: number;

  @Optional()
  @applyAll(...positiveInt())
  connectTimeoutMs?: number;

  @Optional()
  @applyAll(...positiveInt())
  queryTimeoutMs?: number;

  @ValidateIf((_, value) => value !== false && value !== undefined)
  @ValidateNested()
  retention?: RetentionInput | false;

  @Optional()
  @ValidateBy({
    name: 'isPayloadClassMap',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.values(value).every(isFunction),
      defaultMessage: () =>
        'eventPayloads must be an object of event types and class-validator classes',
    },
  })
  eventPayloads?: unknown;

  @Optional()
  @ValidateNested()
  limits?: LimitsInput;

  @Optional()
  @applyAll(...positiveInt(100))
  maxChannelsPerStream?: number;

  @Optional()
  @applyAll(...positiveInt())
  maxStreams?: number;

  @Optional()
  @ValidateNested()
  // Listed last because the first problem found is the one reported.
  @IsObject({ message: 'maxStreamsPerClient must be an object { max, key? }' })
  maxStreamsPerClient?: StreamsPerClientInput;

  @Optional()
  @applyAll(...positiveInt(DAY_MS))
  keepAliveMs?: number;

  @Optional()
  @applyAll(...positiveInt(10_000))
  replayPageSize?: number;

  @Optional()
  @applyAll(...positiveInt(DAY_MS))
  slowClientTimeoutMs?: number;

  @Optional()
  @ValidateBy({
    name: 'isAuthorizer',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        isFunction((value as { canReadChannel?: unknown }).canReadChannel),
      defaultMessage: () => 'authorizer must be an object with a canReadChannel method',
    },
  })
  authorizer?: unknown;

  @Optional()
  @ValidateBy({
    name: 'isConnectHook',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        isFunction((value as { onConnect?: unknown }).onConnect),
      defaultMessage: () => 'onConnect must be an object with an onConnect method',
    },
  })
  onConnect?: unknown;

  @Optional()
  @ValidateBy({
    name: 'isFunction',
    validator: { validate: isFunction, defaultMessage: () => 'resolveUser must be a function' },
  })
  resolveUser?: unknown;

  @Optional()
  @ValidateBy({
    name: 'isFunction',
    validator: { validate: isFunction, defaultMessage: () => 'identifyUser must be a function' },
  })
  identifyUser?: unknown;

  @Optional()
  @ValidateNested()
  cors?: CorsInput;

  @Optional()
  @IsObject({ message: 'grip must be an object with a url' })
  @ValidateNested()
  grip?: GripInput;

  @Optional()
  @ValidateBy({
    name: 'isFunction',
    validator: { validate: isFunction, defaultMessage: () => 'loadUser must be a function' },
  })
  loadUser?: unknown;

  @Optional()
  @ValidateBy({
    name: 'isMetricsOptions',
    validator: {
      validate: (value: unknown) => {
        if (typeof value === 'boolean') return true;
        if (typeof value !== 'object' || value === null) return false;
        const { registry, prefix, ...rest } = value as Record<string, unknown>;
        return (
          Object.keys(rest).length === 0 &&
          (registry === undefined ||
            (typeof registry === 'object' &&
              registry !== null &&
              'registerMetric' in registry &&
              isFunction(registry.registerMetric))) &&
          (prefix === undefined || (typeof prefix === 'string' && METRIC_PREFIX.test(prefix)))
        );
      },
      defaultMessage: () =>
        'metrics must be true, false, or { registry?: a prom-client Registry, prefix?: a metric name prefix }',
    },
  })
  metrics?: unknown;
}

/**
 * Validates the module options once, at start-up, and fills in the defaults.
 * Every problem is reported at once, each with the option's path.
 */
export function resolveOptions(options: EventStreamModuleOptions): EventStreamConfig {
  if (typeof options !== 'object' || options === null) {
    throw new EventStreamConfigError(['options must be an object']);
  }
  const input = Object.assign(new OptionsInput(), options, {
    retention: nestedInput(RetentionInput, options.retention),
    limits: nestedInput(LimitsInput, options.limits),
    cors: nestedInput(CorsInput, options.cors),
    grip: nestedInput(GripInput, options.grip),
    maxStreamsPerClient: nestedInput(StreamsPerClientInput, options.maxStreamsPerClient),
  });
  const problems = flatten(
    validateSync(input, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
    }),
  );
  const { databaseUrl, pool } = options;
  if (databaseUrl === undefined && pool === undefined) {
    problems.push('give either databaseUrl or pool');
  } else if (databaseUrl !== undefined && pool !== undefined) {
    problems.push('give either databaseUrl or pool, not both');
  }
  // Duck-typed: the app's pool may come from another copy of `pg`.
  if (pool && (typeof pool.connect !== 'function' || typeof pool.query !== 'function')) {
    problems.push('pool must be a pg Pool');
  }
  let grip: GripSettings | null = null;
  // Keys are read only from a grip object of the right shape.
  if (options.grip && !problems.some((problem) => problem.startsWith('grip'))) {
    grip = resolveGripSettings(options.grip, problems);
  }
  if (options.grip) {
    const subscriptionMax =
      options.grip.connectionSubscriptionMax ?? DEFAULT_CONNECTION_SUBSCRIPTION_MAX;
    const channelsMax = subscriptionMax - SUBSCRIPTIONS_BESIDES_CHANNELS;
    if ((options.maxChannelsPerStream ?? 0) > channelsMax) {
      problems.push(
        `maxChannelsPerStream: at most ${channelsMax} with grip, since a held stream also subscribes to its user's two channels and Pushpin's connection_subscription_max is ${subscriptionMax}; raise that in pushpin.conf and set grip.connectionSubscriptionMax to match`,
      );
    }
    if ((options.limits?.maxDataBytes ?? 0) > GRIP_MAX_DATA_BYTES) {
      problems.push(
        `limits.maxDataBytes: at most ${GRIP_MAX_DATA_BYTES} with grip, since a GRIP reply that replays an event must stay under Pushpin's limit of 100,000 bytes`,
      );
    }
  }
  if (problems.length > 0) throw new EventStreamConfigError(problems);
  const limits = options.limits ?? {};
  const perClient = options.maxStreamsPerClient;
  const poolSize = options.poolSize ?? 10;

  return {
    connection: pool
      ? { kind: 'pool', pool }
      : {
          kind: 'url',
          url: databaseUrl as string,
          poolSize,
          connectTimeoutMs: options.connectTimeoutMs ?? 5000,
          queryTimeoutMs: options.queryTimeoutMs ?? 15000,
        },
    schema: options.schema ?? 'eventstream',
    migrate: options.migrate ?? false,
    retention: options.retention === false ? null : retentionPolicy(options.retention),
    eventPayloads: new Map(Object.entries(options.eventPayloads ?? {})),
    limits: {
      maxChannelLength: limits.maxChannelLength ?? DEFAULT_EVENT_LIMITS.maxChannelLength,
      maxEventTypeLength: limits.maxEventTypeLength ?? DEFAULT_EVENT_LIMITS.maxEventTypeLength,
      maxDataBytes: limits.maxDataBytes ?? DEFAULT_EVENT_LIMITS.maxDataBytes,
    },
    stream: {
      maxChannels: options.maxChannelsPerStream ?? 10,
      keepAliveMs: options.keepAliveMs ?? 20_000,
      pageSize: options.replayPageSize ?? 1000,
      slowClientTimeoutMs: options.slowClientTimeoutMs ?? 30_000,
    },
    streamLimits: {
      maxStreams:
        options.maxStreams ??
        defaultMaxStreams(
          readOpenFilesLimit(),
          // pg's own default pool size, for a pool given without `max`.
          pool ? (pool.options?.max ?? 10) : poolSize,
        ),
      perClient: perClient ? { max: perClient.max, key: perClient.key ?? clientAddress } : null,
    },
    authorizer: options.authorizer ?? null,
    onConnect: options.onConnect ?? null,
    resolveUser: options.resolveUser ?? defaultUserResolver,
    identifyUser: options.identifyUser ?? defaultUserIdentifier,
    cors: options.cors
      ? {
          origins: options.cors.origins,
          credentials: options.cors.credentials ?? false,
          maxAgeSeconds: options.cors.maxAgeSeconds ?? 600,
        }
      : null,
    grip,
    loadUser: options.loadUser ?? defaultUserLoader,
    metrics: options.metrics === true ? {} : options.metrics || null,
  };
}

function retentionPolicy(options: EventStreamModuleOptions['retention']): RetentionPolicy {
  const given = options || {};
  return {
    maxEventsPerChannel:
      given.maxEventsPerChannel === undefined ? 100_000 : given.maxEventsPerChannel,
    maxAgeMs: given.maxAgeMs === undefined ? DAY_MS : given.maxAgeMs,
    intervalMs: given.intervalMs ?? 60_000,
  };
}

function nestedInput<T extends object>(type: new () => T, value: unknown): unknown {
  return typeof value === 'object' && value !== null ? Object.assign(new type(), value) : value;
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    // One problem per option is enough to fix it: the first that applies.
    const own = Object.values(error.constraints ?? {})
      .slice(0, 1)
      .map((message) =>
        message.startsWith(error.property) ? `${prefix}${message}` : `${path}: ${message}`,
      );
    return [...own, ...flatten(error.children ?? [], `${path}.`)];
  });
}
