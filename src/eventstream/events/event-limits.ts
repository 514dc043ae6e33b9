import { IntRange, Optional } from '../options/option-rules';

/** Size limits applied to every event before it is stored (the `limits` option). */
export class EventLimits {
  /** Longest channel name, in characters. Default 128. */
  @Optional()
  @IntRange(1024)
  maxChannelLength: number = 128;

  /** Longest event type, in characters. Default 128. */
  @Optional()
  @IntRange(1024)
  maxEventTypeLength: number = 128;

  /** Largest JSON encoding of an event's data, in UTF-8 bytes. Default 65536. */
  @Optional()
  @IntRange(16 * 1024 * 1024)
  maxDataBytes: number = 64 * 1024;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = new EventLimits();

/** Event types the SSE protocol layer sends itself; applications may not send them. */
export const RESERVED_EVENT_TYPES: readonly string[] = [
  'stream-open',
  'stream-reset',
  'stream-error',
  'keep-alive',
];
