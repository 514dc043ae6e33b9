import { messageOf } from './error-message';

/** Base class of every error this library throws on purpose. */
export abstract class EventStreamError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidChannelError extends EventStreamError {
  readonly code = 'invalid-channel';

  constructor(
    readonly channel: unknown,
    reason: string,
  ) {
    super(`Invalid channel ${describe(channel)}: ${reason}`);
  }
}

export class InvalidEventTypeError extends EventStreamError {
  readonly code = 'invalid-event-type';

  constructor(
    readonly type: unknown,
    reason: string,
  ) {
    super(`Invalid event type ${describe(type)}: ${reason}`);
  }
}

export class InvalidEventDataError extends EventStreamError {
  readonly code = 'invalid-event-data';

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Invalid event data: ${reason}`, options);
  }
}

export class InvalidPositionError extends EventStreamError {
  readonly code = 'invalid-position';

  constructor(
    readonly position: unknown,
    reason: string,
  ) {
    super(`Invalid position ${describe(position)}: ${reason}`);
  }
}

/** A request's query is malformed (a parameter missing, repeated, or out of range). */
export class InvalidQueryError extends EventStreamError {
  readonly code = 'invalid-query';

  constructor(reason: string) {
    super(`Invalid query: ${reason}`);
  }
}

/**
 * The requested position lies before the oldest event still kept for the
 * channel: events after it were trimmed by retention, so the caller cannot
 * resume without a gap and must start over from the channel's current id.
 */
export class EventPositionTooOldError extends EventStreamError {
  readonly code = 'position-too-old';

  constructor(
    readonly channel: string,
    readonly requestedSeq: number,
    readonly oldestSeq: number,
    readonly headSeq: number,
  ) {
    super(
      `Position ${requestedSeq} of channel ${describe(channel)} is older than the retained ` +
        `history (oldest kept: ${oldestSeq}, current: ${headSeq})`,
    );
  }
}

/**
 * The requested position lies beyond the channel's current id, which happens
 * when the database was recreated after the caller saw an event.
 */
export class EventPositionAheadError extends EventStreamError {
  readonly code = 'position-ahead';

  constructor(
    readonly channel: string,
    readonly requestedSeq: number,
    readonly headSeq: number,
  ) {
    super(
      `Position ${requestedSeq} of channel ${describe(channel)} is ahead of its current id ` +
        `${headSeq}: the event store was probably recreated`,
    );
  }
}

/** An idempotency key that is not a usable key (empty, too long, not printable). */
export class InvalidIdempotencyKeyError extends EventStreamError {
  readonly code = 'invalid-idempotency-key';

  constructor(
    readonly key: unknown,
    readonly reason: string,
  ) {
    super(`Invalid idempotencyKey ${describe(key)}: ${reason}`);
  }
}

/**
 * An idempotency key already used, within its window, for other events
 * (other channels, types or data): nothing was stored. A retry must send
 * the same events as the first send; new events need a new key.
 */
export class IdempotencyKeyReusedError extends EventStreamError {
  readonly code = 'idempotency-key-reused';

  constructor(readonly key: string) {
    super(
      `Idempotency key ${describe(key)} was already used for other events; ` +
        'a retry must send the same events, and new events need a new key',
    );
  }
}

/** The database could not be reached or did not answer in time. */
export class EventStoreUnavailableError extends EventStreamError {
  readonly code = 'store-unavailable';

  constructor(operation: string, cause: unknown) {
    super(`Event store unavailable while trying to ${operation}: ${messageOf(cause)}`, { cause });
  }
}

/** The authorizer said no: 401 when there was no user, 403 otherwise. */
export class ChannelAccessDeniedError extends EventStreamError {
  readonly code = 'access-denied';

  constructor(
    readonly channel: string,
    readonly authenticated: boolean,
  ) {
    super(
      authenticated
        ? `Not allowed to read channel ${describe(channel)}`
        : `Sign in to read channel ${describe(channel)}`,
    );
  }
}

/**
 * GRIP mode: a request that must come through the proxy did not, or a next
 * link's token is forged, tampered with or expired.
 */
export class ProxyRequestRefusedError extends EventStreamError {
  readonly code = 'proxy-required';
}

/**
 * A stream request refused because this instance holds `maxStreams` streams
 * (answered with 503), or the client holds `maxStreamsPerClient.max` (429).
 */
export class TooManyStreamsError extends EventStreamError {
  readonly code = 'too-many-streams';

  constructor(
    readonly limit: 'maxStreams' | 'maxStreamsPerClient',
    readonly max: number,
  ) {
    super(
      limit === 'maxStreams'
        ? `This server holds its most streams (${max}); try again later`
        : `This client holds its most streams (${max}); close one or try again later`,
    );
  }
}

/** A store failure whose cause is not the database being unreachable. */
export class EventStoreError extends EventStreamError {
  readonly code = 'store-failed';

  constructor(operation: string, cause: unknown) {
    super(`Event store failed to ${operation}: ${messageOf(cause)}`, { cause });
  }
}

export class EventStreamConfigError extends EventStreamError {
  readonly code = 'invalid-config';

  constructor(readonly problems: readonly string[]) {
    super(`Invalid EventStreamModule options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export class MigrationError extends EventStreamError {
  readonly code = 'migration-failed';
}

function describe(value: unknown): string {
  if (Array.isArray(value)) {
    return value.length === 0 ? '(none)' : `list of ${value.length}`;
  }
  if (typeof value !== 'string') return `(${value === null ? 'null' : typeof value})`;
  const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return JSON.stringify(shown);
}
