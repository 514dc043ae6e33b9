import { resolveBackoff } from './backoff.js';
import {
  channelsBehind,
  formatPosition,
  isSeen,
  latest,
  parsePosition,
  type Position,
} from './event-position.js';
import type {
  ConnectionState,
  EventInfo,
  EventListener,
  EventStream,
  EventStreamOptions,
} from './event-stream.types.js';
import type { SseMessage } from './sse-parser.js';
import {
  decodeJson,
  ERROR_ID,
  StreamConnection,
  type ConnectionSettings,
} from './stream-connection.js';
import { StreamError } from './stream-error.js';
import type { StreamSink, StreamSource } from './stream-sink.js';
import { SharedStream, tabApis } from './tab-sharing.js';

/** Event types of the protocol itself, handled by the stream, never by `on`. */
const PROTOCOL_TYPES = new Set(['stream-open', 'stream-reset', 'stream-error', 'keep-alive']);

const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

type AnyListener = (data: unknown, event: EventInfo) => void;

/**
 * Opens a stream of the events endpoint, reconnecting by itself. In a browser
 * page, the tabs of an origin that read the same channels share one
 * connection (see `EventStreamOptions.share`).
 *
 * @example
 * ```ts
 * type ChatEvents = { message: { text: string } };
 * const stream = createEventStream<ChatEvents>('/events', { channels: ['room-lobby'] });
 * stream.on('message', (data, event) => console.log(event.id, data.text));
 * ```
 */
export function createEventStream<Events extends object = Record<string, unknown>>(
  url: string | URL,
  options: EventStreamOptions = {},
): EventStream<Events> {
  return new TabEventStream<Events>(url, options);
}

/**
 * One stream as its user sees it: listeners, position and state. Its events
 * come from a connection of its own, or from the one its tabs share, whose
 * replays it may see twice: then it skips what its position already covers.
 */
class TabEventStream<Events extends object> implements EventStream<Events>, StreamSink {
  private readonly listeners = new Map<string, Set<AnyListener>>();
  private readonly channels: readonly string[];
  private readonly source: StreamSource;
  private readonly shared: boolean;
  private cursor: string | undefined;
  private currentState: ConnectionState = 'connecting';
  private ended = false;

  constructor(
    url: string | URL,
    private readonly options: EventStreamOptions,
  ) {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const streamUrl = new URL(url, base);
    for (const channel of options.channels ?? []) streamUrl.searchParams.append('channel', channel);
    this.cursor =
      options.lastEventId ?? streamUrl.searchParams.getAll('lastEventId').filter(Boolean).at(-1);
    streamUrl.searchParams.delete('lastEventId');
    this.channels = [
      ...streamUrl.searchParams.getAll('channel'),
      ...streamUrl.searchParams.getAll('channels').flatMap((list) => list.split(',')),
    ];
    const settings: ConnectionSettings = {
      url: streamUrl,
      headers: options.headers,
      credentials: options.credentials ?? 'same-origin',
      backoff: resolveBackoff(options.backoff),
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    };
    const ownConnection = (): StreamSource => {
      const connection = new StreamConnection(
        settings,
        {
          message: (message) => this.deliver(message),
          state: (state) => this.setState(state),
          error: (error) => this.fail(error),
        },
        this.cursor,
      );
      connection.start();
      return { close: () => connection.stop() };
    };
    const apis = options.share === false ? undefined : tabApis();
    this.shared = apis !== undefined;
    this.source = apis
      ? new SharedStream(apis, settings, this.channels, this, ownConnection)
      : ownConnection();
  }

  get lastEventId(): string | undefined {
    return this.cursor;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  on<Type extends keyof Events & string>(
    type: Type,
    listener: EventListener<Events[Type], Type>,
  ): () => void {
    if (PROTOCOL_TYPES.has(type)) {
      throw new TypeError(
        `"${type}" is handled by the stream: use the onStateChange, onReset and onError options`,
      );
    }
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const added = listener as AnyListener;
    set.add(added);
    return () => void set.delete(added);
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.source.close();
    this.setState('closed');
  }

  deliver(message: SseMessage): void {
    if (this.ended) return;
    if (message.type === 'stream-reset') return this.reset(message);
    if (!this.advance(message.id)) return;
    const listeners = this.listeners.get(message.type);
    if (!listeners || listeners.size === 0) return;
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      const text = `The data of a "${message.type}" event is not JSON`;
      return this.options.onError?.(new StreamError('protocol-error', text, false));
    }
    const info: EventInfo = { type: message.type, id: message.id, rawData: message.data };
    for (const listener of [...listeners]) {
      try {
        listener(data, info);
      } catch (error) {
        // As EventTarget does: report it, and go on with the stream.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  setState(state: ConnectionState): void {
    if (this.currentState === state || (this.ended && state !== 'closed')) return;
    this.currentState = state;
    this.options.onStateChange?.(state);
  }

  fail(error: StreamError): void {
    if (this.ended) return;
    this.options.onError?.(error);
    if (error.terminal) this.close();
  }

  adopt(position: string | undefined): void {
    this.cursor ??= position;
  }

  private reset(message: SseMessage): void {
    const decoded = decodeJson(message.data) as { channels?: unknown } | undefined;
    let channels = Array.isArray(decoded?.channels)
      ? decoded.channels.filter((c): c is string => typeof c === 'string')
      : [];
    if (this.shared) {
      // A reset of a replay asked for by a tab further behind: it concerns
      // only the channels in which this stream had not come that far.
      const mine = parsePosition(this.cursor, this.channels);
      const theirs = parsePosition(message.id, this.channels);
      if (this.cursor === undefined) return;
      if (mine && theirs) {
        const behind = channelsBehind(mine, theirs);
        channels = channels.filter((channel) => behind.includes(channel));
        if (channels.length === 0) return;
      }
    }
    this.advance(message.id);
    this.options.onReset?.({ channels, id: message.id });
  }

  /**
   * Moves the position to `id`, if it is one: not id-less events, not
   * `error`. Returns false for an event a shared stream brought again.
   */
  private advance(id: string | undefined): boolean {
    if (!id || id === ERROR_ID) return true;
    if (this.shared) {
      const event = parsePosition(id, this.channels);
      const mine = parsePosition(this.cursor, this.channels);
      if (event && mine) {
        if (isSeen(event, mine)) return false;
        // Normally `id` itself; after a replay from further back, what both cover.
        if (!isSeen(mine, event)) return this.moveTo(latest(mine, event));
      }
    }
    this.cursor = id;
    return true;
  }

  private moveTo(position: Position): true {
    this.cursor = formatPosition(position);
    return true;
  }
}
