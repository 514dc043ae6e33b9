import type { ConnectionState } from './event-stream.types.js';
import type { SseMessage } from './sse-parser.js';
import type { StreamError } from './stream-error.js';

/** A tab's stream, as its connection (its own, or one shared by tabs) feeds it. */
export interface StreamSink {
  /** Its own position: what it has delivered, where it wants to go on from. */
  readonly lastEventId: string | undefined;
  readonly state: ConnectionState;
  /** An event or a `stream-reset`. */
  deliver(message: SseMessage): void;
  setState(state: ConnectionState): void;
  fail(error: StreamError): void;
  /** The shared stream's position, taken by a stream that had none: it reads from now on. */
  adopt(position: string | undefined): void;
}

/** Where a tab's stream gets its events from; closing it lets go of them. */
export interface StreamSource {
  close(): void;
}
