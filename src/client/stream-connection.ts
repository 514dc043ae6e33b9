import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { ConnectionState } from './event-stream.types.js';
import { SseParser, type SseMessage } from './sse-parser.js';
import { StreamError } from './stream-error.js';

/** The id of a `stream-error`: never a position. */
export const ERROR_ID = 'error';

/**
 * 4xx answers that ask for a retry: 408 (the request came too slowly), 425
 * (too early), 429 (too many requests). Any other 4xx would only come again:
 * the request is wrong (400, or 414 and 431 for a URL or headers too long),
 * or the user may not read (401, 403).
 */
const RETRIED_CLIENT_ERRORS = new Set([408, 425, 429]);

/** The longest `Retry-After` followed: a server's longer ask is taken as this. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** An HTTP date (RFC 9110's IMF-fixdate), as in `Retry-After: Mon, 07 Dec 2026 12:00:30 GMT`. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** The request, URL and headers, is larger than the server (or a proxy) takes. */
const TOO_LARGE_STATUSES = new Set([414, 431]);

/** What a connection reports, in the order a stream's user should see it. */
export interface ConnectionEvents {
  /** An event or a `stream-reset`; the protocol's other types stay inside. */
  message(message: SseMessage): void;
  state(state: ConnectionState): void;
  error(error: StreamError): void;
}

export interface ConnectionSettings {
  /** Without `lastEventId`: the position goes in from `position`. */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly credentials: 'omit' | 'same-origin' | 'include';
  readonly backoff: Required<BackoffOptions>;
  readonly idleTimeoutMs: number;
}

interface Attempt {
  readonly controller: AbortController;
  idleTimer?: ReturnType<typeof setTimeout>;
}

/**
 * One request at a time to the events endpoint, reconnecting with backoff
 * from the last position it read, until it is stopped or a terminal error
 * ends it. It knows nothing of listeners: a tab's stream, or the tabs sharing
 * it, decide what to do with what it reads.
 */
export class StreamConnection {
  private attempt: Attempt | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly events: ConnectionEvents,
    /** Where the next request starts: the last position read, or the one given. */
    public position: string | undefined,
    private currentState: ConnectionState = 'connecting',
  ) {}

  get state(): ConnectionState {
    return this.currentState;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  /** Reads again from `position` at once, without a change of state: nothing was lost. */
  restart(position: string | undefined): void {
    if (this.stopped || this.currentState === 'closed') return;
    this.halt();
    this.position = position;
    void this.connect();
  }

  /** Stops reading, for good or until `start`; reports nothing. */
  stop(): void {
    this.stopped = true;
    this.halt();
  }

  private async connect(): Promise<void> {
    const attempt: Attempt = { controller: new AbortController() };
    this.attempt = attempt;
    const live = () => this.attempt === attempt;
    try {
      // The position goes in the query: a browser's fetch may set
      // Last-Event-ID, but across origins that header needs a preflight.
      const url = new URL(this.settings.url);
      if (this.position !== undefined) url.searchParams.set('lastEventId', this.position);
      this.armIdleTimer(attempt);
      const response = await fetch(url, {
        headers: { ...this.settings.headers, Accept: 'text/event-stream' },
        credentials: this.settings.credentials,
        signal: attempt.controller.signal,
      });
      if (!live()) return;
      const contentType = response.headers.get('content-type') ?? '';
      if (response.status !== 200 || !contentType.startsWith('text/event-stream')) {
        const error = await errorFromResponse(response, url);
        if (live()) this.failed(error);
        return;
      }
      this.setState('open');
      await this.read(response, attempt);
      if (live()) this.failed(new StreamError('disconnected', 'The stream ended', false));
    } catch (error) {
      if (!live()) return;
      const message = error instanceof Error ? error.message : String(error);
      this.failed(new StreamError('network-error', message, false));
    }
  }

  private async read(response: Response, attempt: Attempt): Promise<void> {
    if (!response.body) return;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser((message) => {
      if (this.attempt === attempt) this.dispatch(message);
    });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.attempt !== attempt) return;
        this.armIdleTimer(attempt);
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
    }
    // Only real positions move it: not id-less events, not `error`.
    if (message.id && message.id !== ERROR_ID) this.position = message.id;
    this.events.message(message);
  }

  private failed(error: StreamError): void {
    this.halt();
    if (error.terminal) this.setState('closed');
    this.events.error(error);
    if (error.terminal || this.stopped) return;
    this.setState(this.currentState === 'connecting' ? 'connecting' : 'reconnecting');
    const backoff = backoffDelay(this.failures++, this.settings.backoff);
    // Everyone refused at once must not come back at once: the wait the
    // server asked for gets the backoff's jitter on top.
    const asked = error.retryAfterMs;
    const delay =
      asked === undefined
        ? backoff
        : Math.max(backoff, asked * (1 + this.settings.backoff.jitter * Math.random()));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private armIdleTimer(attempt: Attempt): void {
    const { idleTimeoutMs } = this.settings;
    if (idleTimeoutMs <= 0) return;
    clearTimeout(attempt.idleTimer);
    attempt.idleTimer = setTimeout(() => {
      if (this.attempt !== attempt) return;
      const text = `Nothing arrived for ${idleTimeoutMs} ms`;
      this.failed(new StreamError('idle-timeout', text, false));
    }, idleTimeoutMs);
  }

  private halt(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const attempt = this.attempt;
    this.attempt = undefined;
    if (attempt) {
      clearTimeout(attempt.idleTimer);
      attempt.controller.abort();
    }
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.events.state(state);
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
  return new StreamError(condition, message, terminal, status, retryAfterMs(response));
}

/** `Retry-After` in milliseconds, as seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(
  response: Pick<Response, 'headers'>,
  now = Date.now(),
): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  // Only HTTP's own date form: Date.parse alone takes "-5" for a year.
  else if (HTTP_DATE.test(value)) ms = Date.parse(value) - now;
  else return undefined;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

function decodeErrorData(data: string): { condition: string; text: string } {
  const decoded = decodeJson(data) as { condition?: unknown; text?: unknown } | undefined;
  return {
    condition: typeof decoded?.condition === 'string' ? decoded.condition : 'stream-error',
    text: typeof decoded?.text === 'string' ? decoded.text : 'The stream ended with an error',
  };
}

export function decodeJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
