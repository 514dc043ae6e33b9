import type { Type } from '@nestjs/common';
import {
  IsArray,
  IsBoolean,
  IsObject,
  IsString,
  Matches,
  NotEquals,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import type { Pool } from 'pg';
import { AllowAllAuthorizer, type ChannelAuthorizer } from '../auth/channel-authorizer.interface';
import {
  type UserIdentifier,
  type UserLoader,
  type UserResolver,
  defaultUserIdentifier,
  defaultUserLoader,
  defaultUserResolver,
} from '../auth/user-identity';
import { NoInitialEvents, type StreamConnectHook } from '../connect/stream-connect-hook.interface';
import { EventLimits } from '../events/event-limits';
import { CHANNEL_RULE_TEXT, hasChannelCharacters } from '../events/event-rules';
import { GripOptions } from '../grip/grip-options';
import { clientAddress } from '../limits/client-address';
import { MetricsOptions } from '../metrics/metrics-options';
import {
  Group,
  IntRange,
  Nested,
  Optional,
  OptionalOrNull,
  Satisfies,
  isFunction,
  isPlainObject,
  problemsOf,
} from './option-rules';

/*
 * Every option of the module is declared once, here or in its group's class
 * (GripOptions, MetricsOptions, EventLimits): its name and type (what users
 * write), its documentation (what their editor shows), its default (the
 * initializer; without one, the option has no default or resolveOptions
 * computes it) and its rules (the decorators, checked at start-up).
 * options-docs.spec.ts holds the manual's tables and these comments to the
 * defaults and ranges declared here.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Cross-origin access to the events endpoint, for pages served from other origins. */
export class CorsOptions {
  /** Origins allowed to read streams, e.g. `['https://app.example.com']`, or `'*'` for any. */
  @ValidateIf((_: object, value: unknown) => value !== '*')
  @IsArray({ message: "origins must be '*' or an array of origins" })
  @IsString({ each: true, message: 'origins must hold origin strings' })
  origins!: readonly string[] | '*';

  /** Let browsers send cookies (`EventSource(url, { withCredentials: true })`). Default `false`. */
  @Optional()
  @IsBoolean({ message: 'credentials must be true or false' })
  credentials?: boolean = false;

  /** How long browsers may cache a preflight answer, in seconds. Default 600. */
  @Optional()
  @IntRange(86_400)
  maxAgeSeconds?: number = 600;
}

/** How long events are kept. Trimming runs in the background on every instance. */
export class RetentionOptions {
  /** Keep at most this many events per channel; `null` for no count limit. Default 100000. */
  @OptionalOrNull()
  @IntRange()
  maxEventsPerChannel?: number | null = 100_000;

  /**
   * Drop events older than this many milliseconds, a whole partition at a
   * time (an event goes at most an eighth of this, or 1 s, later); `null` for no age
   * limit. Default 86400000 (24 h).
   */
  @OptionalOrNull()
  @IntRange()
  maxAgeMs?: number | null = DAY_MS;

  /** How often trimming runs, in milliseconds. Default 60000. */
  @Optional()
  @IntRange(DAY_MS)
  intervalMs?: number = 60_000;
}

/**
 * A cap on the streams one client holds on this instance. Off by default:
 * behind a proxy or load balancer every client has the proxy's address, so
 * give a `key` that tells clients apart there (a user id, a trusted
 * forwarded address).
 */
export class StreamsPerClientOptions {
  /** Most streams one key may hold open on this instance; past it, 429. */
  @IntRange()
  max!: number;

  /**
   * The client of a stream request (the request your platform hands to
   * controllers). Default: the socket's remote address.
   *
   * @example
   * ```ts
   * key: (request) => (request as { user?: { id: string } }).user?.id ?? 'anonymous'
   * ```
   */
  @Optional()
  @Satisfies('isFunction', isFunction, 'key must be a function of the request returning a string')
  key?: (request: object) => string = clientAddress;
}

/** Join and leave events on a channel's stream (docs/presence.md). */
export class PresenceOptions {
  /**
   * Channels whose streams announce users' joins and leaves as `presence`
   * events: channel names, and regular expressions for families of
   * channels, e.g. `['lobby', /^room-/]`. Default `[]`: none.
   */
  @Optional()
  @Satisfies(
    'isChannelOrPattern',
    (value) =>
      Array.isArray(value) &&
      value.every(
        (entry) =>
          entry instanceof RegExp ||
          (typeof entry === 'string' && entry !== '' && hasChannelCharacters(entry)),
      ),
    `announce must hold channel names (${CHANNEL_RULE_TEXT}) and regular expressions`,
  )
  // Listed last because the first problem found is the one reported.
  @IsArray({ message: 'announce must be an array of channel names and regular expressions' })
  announce?: readonly (string | RegExp)[] = [];
}

/** The options declared without a default: absent, or computed by resolveOptions. */
export type OptionsWithoutDefault =
  'databaseUrl' | 'pool' | 'maxStreams' | 'maxStreamsPerClient' | 'cors' | 'grip';

/** Options of {@link EventStreamModule.forRoot}. */
export class EventStreamModuleOptions {
  /**
   * Postgres connection string, e.g. `postgresql://user:pass@host:5432/app`.
   * Give either this or `pool`.
   */
  @Optional()
  @Matches(POSTGRES_URL, {
    message: 'databaseUrl must be a postgres:// or postgresql:// URL',
  })
  databaseUrl?: string;

  /**
   * A `pg` pool the library should use instead of opening its own. The
   * library never ends it; its timeouts are the pool's own.
   */
  @Optional()
  @IsObject({ message: 'pool must be a pg Pool' })
  pool?: Pool;

  /**
   * Postgres URLs of streaming read replicas of the database. Replay pages,
   * history pages and next-link recovery read from one (round robin) when it
   * has caught up to the head the read must reach, else from the primary;
   * writes, heads and the change feed always use the primary. Each replica
   * gets a pool as large as the primary's, with 1 s connect and query
   * timeouts. Default: none (`[]`), every read on the primary.
   */
  @Optional()
  @ValidateBy({
    name: 'isReplicaUrls',
    validator: {
      validate: (value) => replicaUrlProblem(value) === undefined,
      defaultMessage: (args) => replicaUrlProblem(args?.value) ?? '',
    },
  })
  replicas?: readonly string[] = [];

  /** Postgres schema holding the library's tables. Default `'eventstream'`. */
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
  schema?: string = 'eventstream';

  /**
   * Apply the library's migrations at start-up (under an advisory lock, so
   * instances starting together are safe). Default `false`: run
   * `npx nestjs-eventstream migrate` or `prisma migrate deploy` instead.
   */
  @Optional()
  @IsBoolean({ message: 'migrate must be true or false' })
  migrate?: boolean = false;

  /** Connections in the pool the library opens from `databaseUrl`. Default 10. */
  @Optional()
  @IntRange(1000)
  poolSize?: number = 10;

  /** How long to wait for a database connection before failing, in milliseconds. Default 5000. */
  @Optional()
  @IntRange()
  connectTimeoutMs?: number = 5000;

  /** How long one query may run before it fails, in milliseconds. Default 15000. */
  @Optional()
  @IntRange()
  queryTimeoutMs?: number = 15_000;

  /**
   * Retention policy, or `false` to keep every event forever. On by default:
   * 24 h and at most 100000 events per channel.
   */
  @ValidateIf((_: object, value: unknown) => value !== false && value !== undefined)
  @Nested(() => RetentionOptions)
  retention?: RetentionOptions | false = new RetentionOptions();

  /**
   * class-validator classes per event type: `sendEvent` checks data of that
   * type against its class and refuses it, before anything is stored, with
   * an `InvalidEventDataError` that names each problem. Default: none.
   */
  @Optional()
  @Satisfies(
    'isPayloadClassMap',
    (value) => isPlainObject(value) && Object.values(value).every(isFunction),
    'eventPayloads must be an object of event types and class-validator classes',
  )
  eventPayloads?: { readonly [type: string]: Type<object> } = {};

  /**
   * How long an idempotency key holds, in milliseconds: within it, a second
   * send with the key stores nothing and resolves with the first's events;
   * after it, the key is free again (and trimmed with retention). Default
   * 86400000 (24 h).
   */
  @Optional()
  @IntRange()
  idempotencyWindowMs?: number = DAY_MS;

  /** Limits on channel names, event types and data size; each has its own default. */
  @Optional()
  @Nested(() => EventLimits)
  limits?: Partial<EventLimits> = new EventLimits();

  /** Most channels one stream may read. Default 10. */
  @Optional()
  @IntRange(100)
  maxChannelsPerStream?: number = 10;

  /**
   * Most streams this instance holds open at once: direct streams of the
   * events endpoint and of `EventStreamResponder` routes, and app streams
   * (not those handed to a GRIP proxy). Past it a request gets 503 with
   * `Retry-After`. Default: what the open files limit leaves after the
   * database connections and 256 descriptors for everything else.
   */
  @Optional()
  @IntRange()
  maxStreams?: number;

  /** A cap per client, with 429 past it. Default: none. */
  @Optional()
  @Nested(() => StreamsPerClientOptions)
  // Listed last because the first problem found is the one reported.
  @IsObject({ message: 'maxStreamsPerClient must be an object { max, key? }' })
  maxStreamsPerClient?: StreamsPerClientOptions;

  /** Idle streams get a `keep-alive` event this often, in milliseconds. Default 20000. */
  @Optional()
  @IntRange(DAY_MS)
  keepAliveMs?: number = 20_000;

  /**
   * Events read from the database per query while a stream catches up (a page
   * also stops at about 256 KiB of event data). Default 1000.
   */
  @Optional()
  @IntRange(10_000)
  replayPageSize?: number = 1000;

  /**
   * A stream whose client takes no data for this long while events wait is
   * closed; the client resumes from its last id. In milliseconds. Default 30000.
   */
  @Optional()
  @IntRange(DAY_MS)
  slowClientTimeoutMs?: number = 30_000;

  /**
   * Decides who may read which channel. Default: everyone may read every
   * channel. Give a provider of your app through `forRootAsync`'s `inject`.
   */
  @Optional()
  @Satisfies(
    'isAuthorizer',
    (value) => hasMethod(value, 'canReadChannel'),
    'authorizer must be an object with a canReadChannel method',
  )
  authorizer?: ChannelAuthorizer<never, never> = new AllowAllAuthorizer();

  /**
   * Sends events to each client as its stream opens, before stored ones
   * (see {@link StreamConnectHook}). Give a provider of your app through
   * `forRootAsync`'s `inject`. Default: none.
   */
  @Optional()
  @Satisfies(
    'isConnectHook',
    (value) => hasMethod(value, 'onConnect'),
    'onConnect must be an object with an onConnect method',
  )
  onConnect?: StreamConnectHook<never, never> = new NoInitialEvents();

  /** Finds the user of a request. Default: `request.user`. */
  @Optional()
  @Satisfies('isFunction', isFunction, 'resolveUser must be a function')
  resolveUser?: UserResolver = defaultUserResolver;

  /** A stable key for a user, to find their streams on revocation. Default: `id`, else `sub`. */
  @Optional()
  @Satisfies('isFunction', isFunction, 'identifyUser must be a function')
  identifyUser?: UserIdentifier = defaultUserIdentifier;

  /** Join and leave events, per channel. Default: announced on no channel. */
  @Optional()
  @Nested(() => PresenceOptions)
  @IsObject({ message: 'presence must be an object { announce }' })
  presence?: PresenceOptions = new PresenceOptions();

  /** CORS for the events endpoint. Default: none (same origin only). */
  @Optional()
  @Nested(() => CorsOptions)
  cors?: CorsOptions;

  /**
   * Hand streams to a GRIP proxy such as Pushpin. Default: none, the app
   * streams directly.
   */
  @Optional()
  @IsObject({ message: 'grip must be an object with a url' })
  @Nested(() => GripOptions)
  grip?: GripOptions;

  /**
   * Turns the user id a next link carries back into the user the authorizer
   * is asked about (GRIP mode: the proxy calls next links without cookies).
   * Default: `{ id }`.
   */
  @Optional()
  @Satisfies('isFunction', isFunction, 'loadUser must be a function')
  loadUser?: UserLoader = defaultUserLoader;

  /**
   * Prometheus metrics (prom-client): `true` for the global registry, or
   * options. Default `false` (off).
   */
  @Optional()
  @Group(() => MetricsOptions)
  @Satisfies(
    'isMetricsOptions',
    // A group checked as a whole: one problem says what is accepted.
    (value) =>
      typeof value === 'boolean' ||
      (value instanceof MetricsOptions && problemsOf(value).length === 0),
    'metrics must be true, false, or { registry?: a prom-client Registry, prefix?: a metric name prefix }',
  )
  metrics?: boolean | MetricsOptions = false;
}

/** What is wrong with `replicas`, naming the entry (never its text: it may hold a password). */
function replicaUrlProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'replicas must be an array of postgres:// URLs';
  const bad = value.findIndex((url) => typeof url !== 'string' || !POSTGRES_URL.test(url));
  return bad < 0 ? undefined : `replicas.${bad} must be a postgres:// or postgresql:// URL`;
}

function hasMethod(value: unknown, method: string): boolean {
  return typeof value === 'object' && value !== null && isFunction(Reflect.get(value, method));
}
