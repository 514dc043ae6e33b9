import { messageOf } from '../errors/error-message';
import { EventStreamError } from '../errors/eventstream.errors';
import type { EventLimits } from '../events/event-limits';
import { assertValidEventType, encodeEventData } from '../events/event-rules';
import { encodeFrame } from '../sse/sse-frames';

/** One event that an {@link EventStreamRoute} method yields or emits. */
export interface StreamEvent {
  /**
   * The SSE event type, under the same rules as stored events (no control
   * characters, not one of the protocol's own types). Without it the client
   * sees a `message` event.
   */
  readonly type?: string;
  /** Sent as JSON on one `data:` line; `null` is fine, `undefined` is not. */
  readonly data: unknown;
  /**
   * The SSE id, which the client sends back as `Last-Event-ID` when it
   * reconnects: 1 to 1024 characters, no control characters, not `error`.
   * Not allowed on persisted routes, where the store assigns `channel:seq`.
   */
  readonly id?: string;
  /** Milliseconds an `EventSource` waits before reconnecting (the SSE `retry:` field). */
  readonly retry?: number;
}

/** The longest id an app stream may send. */
export const MAX_STREAM_EVENT_ID_LENGTH = 1024;

const FIELDS = new Set(['type', 'data', 'id', 'retry']);
const CONTROL_CHARACTER = /\p{Cc}/u;

/** A value an {@link EventStreamRoute} method produced is not a valid {@link StreamEvent}. */
export class InvalidStreamEventError extends EventStreamError {
  readonly code = 'invalid-stream-event';

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Invalid stream event: ${reason}`, options);
  }
}

export interface CheckedStreamEvent {
  readonly type?: string;
  readonly data: unknown;
  /** `data` as JSON. */
  readonly json: string;
  readonly id?: string;
  readonly retry?: number;
}

/**
 * Checks a value produced by app code. Anything that could break SSE framing
 * (a line break in the type or id, say) is refused, never sanitized: a
 * quietly altered id would resume the client from somewhere else.
 */
export function checkStreamEvent(value: unknown, limits: EventLimits): CheckedStreamEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidStreamEventError(
      `expected an object like { type?, data, id?, retry? }, got ${describe(value)}`,
    );
  }
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) {
    throw new InvalidStreamEventError(
      `unknown field ${unknown.map((key) => JSON.stringify(key)).join(', ')} ` +
        '(an event has type, data, id and retry)',
    );
  }
  if (!('data' in fields) || fields.data === undefined) {
    throw new InvalidStreamEventError('data is required (null is fine)');
  }
  const { type, data, id, retry } = fields;
  try {
    if (type !== undefined) assertValidEventType(type, limits);
    const json = encodeEventData(data, limits);
    if (id !== undefined) checkId(id);
    if (retry !== undefined && (!Number.isSafeInteger(retry) || (retry as number) < 0)) {
      throw new InvalidStreamEventError('retry must be a whole number of milliseconds, >= 0');
    }
    return {
      type,
      data,
      json,
      id: id as string | undefined,
      retry: retry as number | undefined,
    };
  } catch (error) {
    if (error instanceof InvalidStreamEventError) throw error;
    throw new InvalidStreamEventError(messageOf(error), { cause: error });
  }
}

/** The SSE frame of a checked event. */
export function encodeStreamEvent(event: CheckedStreamEvent): string {
  const frame = encodeFrame({ event: event.type, id: event.id, data: event.json });
  return event.retry === undefined ? frame : `retry: ${event.retry}\n${frame}`;
}

function checkId(id: unknown): void {
  if (typeof id !== 'string') throw new InvalidStreamEventError('an id must be a string');
  if (id.length === 0 || id.length > MAX_STREAM_EVENT_ID_LENGTH) {
    throw new InvalidStreamEventError(
      `an id is 1 to ${MAX_STREAM_EVENT_ID_LENGTH} characters long`,
    );
  }
  // A CR or LF would end the `id:` line and let the rest inject fields.
  if (CONTROL_CHARACTER.test(id)) {
    throw new InvalidStreamEventError('an id cannot contain control characters');
  }
  if (id === 'error') {
    throw new InvalidStreamEventError('the id "error" is reserved for stream-error events');
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value;
}
