import { backoffDelay, resolveBackoff, type BackoffOptions } from './backoff.js';
import type {
  ConnectionState,
  EventInfo,
  EventListener,
  EventStream,
  EventStreamOptions,
} from './event-stream.types.js';
import { SseParser, type SseMessage } from './sse-parser.js';
import { StreamError } from './stream-error.js';

/** Event types of the protocol itself, handled by the stream, never by `on`. */
const PROTOCOL_TYPES = new Set(['stream-open', 'stream-reset', 'stream-error', 'keep-alive']);

/** The id of a `stream-error`: never a position. */
const ERROR_ID = 'error';

/**
 * 4xx answers that ask for a retry: 408 (the request came too slowly), 425
 * (too early), 429 (too many requests). Any other 4xx would only come again:
 * the request is wrong (400, or 414 and 431 for a URL or headers too long),
 * or the user may not read (401, 403).
 */
const RETRIED_CLIENT_ERRORS = new Set([408, 425, 429]);

/** The request, URL and headers, is larger than the server (or a proxy) takes. */
const TOO_LARGE_STATUSES = new Set([414, 431]);

const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

type AnyListener = (data: unknown, event: EventInfo) => void;

/**
 * Opens a stream of the events endpoint, reconnecting by itself.
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
  return new ReconnectingEventStream<Events>(url, options);
}

interface Connection {
  readonly controller: AbortController;
  idleTimer?: ReturnType<typeof setTimeout>;
}

class ReconnectingEventStream<Events extends object> implements EventStream<Events> {
  private readonly url: URL;
  private readonly backoff: Required<BackoffOptions>;
  private readonly idleTimeoutMs: number;
  private readonly listeners = new Map<string, Set<AnyListener>>();
  private cursor: string | undefined;
  private currentState: ConnectionState = 'connecting';
  private failures = 0;
  private connection: Connection | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    url: string | URL,
    private readonly options: EventStreamOptions,
  ) {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    this.url = new URL(url, base);
    for (const channel of options.channels ?? []) this.url.searchParams.append('channel', channel);
    this.cursor =
      options.lastEventId ?? this.url.searchParams.getAll('lastEventId').filter(Boolean).at(-1);
    this.url.searchParams.delete('lastEventId');
    this.backoff = resolveBackoff(options.backoff);
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    void this.connect();
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
    if (this.currentState === 'closed') return;
    this.stop();
    this.setState('closed');
  }

  private async connect(): Promise<void> {
    const connection: Connection = { controller: new AbortController() };
    this.connection = connection;
    const live = () => this.connection === connection;
    try {
      // The position goes in the query: a browser's fetch may set
      // Last-Event-ID, but across origins that header needs a preflight.
      const url = new URL(this.url);
      if (this.cursor !== undefined) url.searchParams.set('lastEventId', this.cursor);
      this.armIdleTimer(connection);
      const response = await fetch(url, {
        headers: { ...this.options.headers, Accept: 'text/event-stream' },
        credentials: this.options.credentials ?? 'same-origin',
        signal: connection.controller.signal,
      });
      if (!live()) return;
      const contentType = response.headers.get('content-type') ?? '';
      if (response.status !== 200 || !contentType.startsWith('text/event-stream')) {
        const error = await errorFromResponse(response, url);
        if (live()) this.failed(error);
        return;
      }
      this.setState('open');
      await this.read(response, connection);
      if (live()) this.failed(new StreamError('disconnected', 'The stream ended', false));
    } catch (error) {
      if (!live()) return;
      const message = error instanceof Error ? error.message : String(error);
      this.failed(new StreamError('network-error', message, false));
    }
  }

  private async read(response: Response, connection: Connection): Promise<void> {
    if (!response.body) return;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser((message) => {
      if (this.connection === connection) this.dispatch(message);
    });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.connection !== connection) return;
        this.armIdleTimer(connection);
        parser.push(decoder.decode(value, { stream: true }));
      }
    } finally {
      // A loop left early (closed, idle, terminal error) frees the socket.
      reader.cancel().catch(() => undefined);
    }
  }

  private dispatch(message: SseMessage): void {
    // Anything at all proves the connection works again.
    this.failures = 0;
    switch (message.type) {
      case 'stream-open':
      case 'keep-alive':
        return;
      case 'stream-error': {
        const { condition, text } = decodeErrorData(message.data);
        return this.failed(new StreamError(condition, text, true, 200));
      }
      case 'stream-reset': {
        this.advance(message.id);
        const decoded = decodeJson(message.data) as { channels?: unknown } | undefined;
        const channels = Array.isArray(decoded?.channels)
          ? decoded.channels.filter((c): c is string => typeof c === 'string')
          : [];
        return this.options.onReset?.({ channels, id: message.id });
      }
    }
    this.advance(message.id);
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

  /** Only real positions move the cursor: not id-less events, not `error`. */
  private advance(id: string | undefined): void {
    if (id && id !== ERROR_ID) this.cursor = id;
  }

  private failed(error: StreamError): void {
    this.stop();
    if (error.terminal) this.setState('closed');
    this.options.onError?.(error);
    if (error.terminal || this.currentState === 'closed') return;
    this.setState(this.currentState === 'connecting' ? 'connecting' : 'reconnecting');
    const delay = backoffDelay(this.failures++, this.backoff);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private armIdleTimer(connection: Connection): void {
    if (this.idleTimeoutMs <= 0) return;
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => {
      if (this.connection !== connection) return;
      const text = `Nothing arrived for ${this.idleTimeoutMs} ms`;
      this.failed(new StreamError('idle-timeout', text, false));
    }, this.idleTimeoutMs);
  }

  private stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) {
      clearTimeout(connection.idleTimer);
      connection.controller.abort();
    }
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.options.onStateChange?.(state);
  }
}

/** Whether a retry cannot help. 204 is the SSE way to say "stop". */
function isTerminal(status: number): boolean {
  return status === 204 || (status >= 400 && status < 500 && !RETRIED_CLIENT_ERRORS.has(status));
}

async function errorFromResponse(response: Response, url: URL): Promise<StreamError> {
  const { status } = response;
  const terminal = isTerminal(status);
  if (TOO_LARGE_STATUSES.has(status)) {
    // What servers say here is no help (Node's 431 has no body, Fastify's
    // only "Exceeded maximum allowed HTTP header size"): say what was long.
    await response.body?.cancel().catch(() => undefined);
    const position = url.searchParams.get('lastEventId')?.length ?? 0;
    const message =
      `HTTP ${status}: the server refused the request as too large, a URL of ` +
      `${url.href.length} characters (${position} of them the position, lastEventId) ` +
      'with its headers';
    return new StreamError('request-too-large', message, terminal, status);
  }
  let condition = status === 200 ? 'protocol-error' : 'http-error';
  let message = status === 200 ? 'The answer is not an event stream' : `HTTP ${status}`;
  try {
    const body = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) {
      // An SSE client's refusal: one `stream-error` event (see README, errors).
      let found: SseMessage | undefined;
      new SseParser((m) => (found ??= m.type === 'stream-error' ? m : undefined)).push(
        `${body}\n\n`,
      );
      if (found) ({ condition, text: message } = decodeErrorData(found.data));
    } else if (contentType.includes('json')) {
      const json = JSON.parse(body) as { error?: unknown; message?: unknown };
      if (typeof json.error === 'string' && status !== 200) condition = json.error;
      if (typeof json.message === 'string') message = json.message;
      else if (Array.isArray(json.message)) message = json.message.join('; ');
    }
  } catch {
    // The status says enough.
  }
  return new StreamError(condition, message, terminal, status);
}

function decodeErrorData(data: string): { condition: string; text: string } {
  const decoded = decodeJson(data) as { condition?: unknown; text?: unknown } | undefined;
  return {
    condition: typeof decoded?.condition === 'string' ? decoded.condition : 'stream-error',
    text: typeof decoded?.text === 'string' ? decoded.text : 'The stream ended with an error',
  };
}

function decodeJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
