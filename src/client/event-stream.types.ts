import type { BackoffOptions } from './backoff.js';
import type { StreamError } from './stream-error.js';

/**
 * `connecting` until the first stream opens; `open` while events can arrive;
 * `reconnecting` after a loss, through the waits and attempts until a stream
 * opens again; `closed` after `close()` or a terminal error, for good.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What a listener gets besides the decoded data. */
export interface EventInfo<Type extends string = string> {
  readonly type: Type;
  /**
   * The event's id: `channel:seq`, or for several channels the position of
   * every channel (`a:3,b:7`). The stream's `lastEventId` is this id by the
   * time the listener runs.
   */
  readonly id: string | undefined;
  /** The data as it was sent, before JSON decoding. */
  readonly rawData: string;
}

export type EventListener<Data, Type extends string = string> = (
  data: Data,
  event: EventInfo<Type>,
) => void;

/** A `stream-reset`: events of these channels were lost; the stream goes on from `id`. */
export interface StreamReset {
  readonly channels: readonly string[];
  readonly id: string | undefined;
}

export interface EventStreamOptions {
  /** Channels to read, sent as `?channel=` parameters (added to any in the URL). */
  readonly channels?: readonly string[];
  /**
   * Resume after this id (one you kept from `lastEventId`). Default: the
   * URL's own `lastEventId` parameter, else start from now.
   */
  readonly lastEventId?: string;
  /** Extra request headers, e.g. `Authorization` (across origins, CORS must allow them). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whether cookies are sent, as in `fetch`. Default `same-origin`; `include` across origins. */
  readonly credentials?: 'omit' | 'same-origin' | 'include';
  /** Delays between reconnects. */
  readonly backoff?: BackoffOptions;
  /**
   * Reconnect when nothing (not even a keep-alive) arrived for this long, in
   * ms: a connection lost without a reset (sleep, network change) would
   * otherwise hang forever. Default 45000, twice the server's default
   * keep-alive interval plus a margin; 0 turns it off.
   */
  readonly idleTimeoutMs?: number;
  /**
   * Share one connection among the tabs of this origin that open the same
   * stream (the same URL and channels, headers and credentials): one tab
   * reads it, the others receive its events through a `BroadcastChannel`,
   * and another takes over from the last id any of them saw when it closes.
   * Each keeps its own listeners, state and `lastEventId`. Only in browser
   * pages with the Web Locks API and `BroadcastChannel` (secure contexts);
   * elsewhere each stream has its own connection. Default `true`; `false`
   * gives this stream a connection of its own.
   */
  readonly share?: boolean;
  readonly onStateChange?: (state: ConnectionState) => void;
  /** A `stream-reset` arrived: events of `reset.channels` were missed for good. */
  readonly onReset?: (reset: StreamReset) => void;
  /** Every failure; `error.terminal` tells whether the stream stopped for good. */
  readonly onError?: (error: StreamError) => void;
}

/** A stream of events, typed by a map from event type to its data. */
export interface EventStream<Events extends object = Record<string, unknown>> {
  /**
   * Calls `listener` with the JSON-decoded data of every event of `type`.
   * Returns a function that removes it.
   */
  on<Type extends keyof Events & string>(
    type: Type,
    listener: EventListener<Events[Type], Type>,
  ): () => void;
  /** The last event id received: what a reconnect resumes from. */
  readonly lastEventId: string | undefined;
  readonly state: ConnectionState;
  /** Stops the stream and every reconnect, for good. */
  close(): void;
}
