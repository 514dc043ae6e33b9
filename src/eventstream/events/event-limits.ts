/** Size limits applied to every event before it is stored. */
export interface EventLimits {
  /** Longest channel name, in characters. Default 128. */
  maxChannelLength: number;
  /** Longest event type, in characters. Default 128. */
  maxEventTypeLength: number;
  /** Largest JSON encoding of an event's data, in UTF-8 bytes. Default 65536. */
  maxDataBytes: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = {
  maxChannelLength: 128,
  maxEventTypeLength: 128,
  maxDataBytes: 64 * 1024,
};

/** Event types the SSE protocol layer sends itself; applications may not send them. */
export const RESERVED_EVENT_TYPES: readonly string[] = [
  'stream-open',
  'stream-reset',
  'stream-error',
  'keep-alive',
];
