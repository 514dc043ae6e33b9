export { createEventStream } from './event-stream.js';
export { StreamError } from './stream-error.js';
export { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export type {
  ConnectionState,
  EventInfo,
  EventListener,
  EventStream,
  EventStreamOptions,
  StreamReset,
} from './event-stream.types.js';
