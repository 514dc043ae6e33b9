import 'reflect-metadata';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  NotEquals,
  ValidateIf,
  ValidateNested,
  ValidationError,
  validateSync,
} from 'class-validator';
import { Pool } from 'pg';
import { EventStreamConfigError } from '../errors/eventstream.errors';
import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import type { EventStreamConfig, RetentionPolicy } from './eventstream-config';
import type { EventStreamModuleOptions } from './eventstream-options.interface';

const DAY_MS = 24 * 60 * 60 * 1000;

const positiveInt = (max = Number.MAX_SAFE_INTEGER) => [
  IsInt({ message: '$property must be an integer, got $value' }),
  Min(1, { message: '$property must be at least 1, got $value' }),
  Max(max, { message: `$property must be at most ${max}, got $value` }),
];

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

  @IsOptional()
  @applyAll(...positiveInt(DAY_MS))
  intervalMs?: number;
}

class LimitsInput {
  @IsOptional()
  @applyAll(...positiveInt(1024))
  maxChannelLength?: number;

  @IsOptional()
  @applyAll(...positiveInt(1024))
  maxEventTypeLength?: number;

  @IsOptional()
  @applyAll(...positiveInt(16 * 1024 * 1024))
  maxDataBytes?: number;
}

class OptionsInput {
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'databaseUrl must be a postgres:// or postgresql:// URL',
  })
  databaseUrl?: string;

  @IsOptional()
  pool?: Pool;

  @IsOptional()
  @IsString({ message: 'schema must be a string' })
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, {
    message: 'schema must be a lower-case Postgres identifier (a-z, 0-9, _), got $value',
  })
  // Sharing `public` would put our rows in the app's own `_prisma_migrations`.
  @NotEquals('public', {
    message: 'schema cannot be "public": the library keeps its tables and migration history apart',
  })
  schema?: string;

  @IsOptional()
  @IsBoolean({ message: 'migrate must be true or false' })
  migrate?: boolean;

  @IsOptional()
  @applyAll(...positiveInt(1000))
  poolSize?: number;

  @IsOptional()
  @applyAll(...positiveInt())
  connectTimeoutMs?: number;

  @IsOptional()
  @applyAll(...positiveInt())
  queryTimeoutMs?: number;

  @ValidateIf((_, value) => value !== false && value !== undefined)
  @ValidateNested()
  retention?: RetentionInput | false;

  @IsOptional()
  @ValidateNested()
  limits?: LimitsInput;
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
  if (pool !== undefined && !(pool instanceof Pool)) problems.push('pool must be a pg Pool');
  if (problems.length > 0) throw new EventStreamConfigError(problems);

  return {
    connection: pool
      ? { kind: 'pool', pool }
      : {
          kind: 'url',
          url: databaseUrl as string,
          poolSize: options.poolSize ?? 10,
          connectTimeoutMs: options.connectTimeoutMs ?? 5000,
          queryTimeoutMs: options.queryTimeoutMs ?? 15000,
        },
    schema: options.schema ?? 'eventstream',
    migrate: options.migrate ?? false,
    retention: options.retention === false ? null : retentionPolicy(options.retention),
    limits: { ...DEFAULT_EVENT_LIMITS, ...options.limits },
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
    const own = Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property) ? `${prefix}${message}` : `${path}: ${message}`,
    );
    return [...own, ...flatten(error.children ?? [], `${path}.`)];
  });
}
