import EventSource from 'eventsource';
import type { ClientRecord } from './checker';
import { EVENT_TYPE, readTick } from './tick';

/** A way in: a Pushpin, or an instance directly (its own streams, unproxied). */
export interface StreamPath {
  readonly name: string;
  readonly url: string;
}

export interface ClientOptions {
  readonly name: string;
  readonly channels: readonly string[];
  /** Every path, the client's own first; on a break it moves on to the next. */
  readonly paths: readonly StreamPath[];
  /** Reconnects without Last-Event-ID: a broken client, to see the checker fail. */
  readonly forgetPosition?: boolean;
}

/** How long a client waits before it reconnects, as an EventSource would (jittered). */
const RETRY_MS = 250;

/**
 * A real SSE client over a socket (the `eventsource` package parses the
 * stream and sends Last-Event-ID) that, like EventSource, reconnects with its
 * last event id when its connection breaks, but to the next path: a
 * Pushpin or instance that went away leaves the client on another one.
 */
export class ClusterClient {
  readonly record: ClientRecord;
  /** When each connection broke, and on which path. */
  readonly breaks: { at: number; path: string }[] = [];
  private source?: EventSource;
  private pathIndex = 0;
  private lastEventId = '';
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private opened!: Promise<void>;
  private markOpen!: () => void;

  constructor(private readonly options: ClientOptions) {
    this.record = {
      name: options.name,
      channels: options.channels,
      deliveries: [],
      resets: [],
      streamErrors: [],
    };
    this.opened = new Promise((resolve) => (this.markOpen = resolve));
    this.connect();
  }

  /** Resolves once the first stream has opened (its `stream-open`). */
  whenOpen(): Promise<void> {
    return this.opened;
  }

  /** The highest seq received on `channel`. */
  position(channel: string): number {
    const deliveries = this.record.deliveries;
    for (let i = deliveries.length - 1; i >= 0; i--) {
      if (deliveries[i].channel === channel) return deliveries[i].seq;
    }
    return 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.source?.close();
  }

  private connect(): void {
    const path = this.options.paths[this.pathIndex];
    const query = this.options.channels
      .map((channel) => `channel=${encodeURIComponent(channel)}`)
      .join('&');
    const headers: Record<string, string> =
      this.lastEventId && !this.options.forgetPosition ? { 'Last-Event-ID': this.lastEventId } : {};
    const source = new EventSource(`${path.url}/events?${query}`, { headers });
    this.source = source;
    source.addEventListener('stream-open', () => this.markOpen());
    source.addEventListener(EVENT_TYPE, (event: MessageEvent<string>) => {
      const receivedAt = Date.now();
      const tick = readTick(event.data);
      this.lastEventId = event.lastEventId;
      this.record.deliveries.push({
        channel: tick.c,
        seq: seqOf(event.lastEventId, tick.c),
        token: tick.token,
        sentAt: tick.t,
        receivedAt,
        path: path.name,
      });
    });
    source.addEventListener('stream-reset', (event: MessageEvent<string>) =>
      this.record.resets.push(`${path.name}: ${event.data}`),
    );
    source.addEventListener('stream-error', (event: MessageEvent<string>) =>
      this.record.streamErrors.push(`${path.name}: ${event.data}`),
    );
    source.onerror = () => {
      // Our own reconnect, not the package's: it would retry the same path.
      source.close();
      if (this.closed || this.source !== source) return;
      this.breaks.push({ at: Date.now(), path: path.name });
      this.pathIndex = (this.pathIndex + 1) % this.options.paths.length;
      this.retryTimer = setTimeout(() => this.connect(), RETRY_MS * (1 + Math.random()));
    };
  }
}

/** The seq of `channel` in an SSE id: `channel:seq`, or a composite `a:1,b:2` (names percent-encoded). */
export function seqOf(id: string, channel: string): number {
  for (const part of id.split(',')) {
    const colon = part.lastIndexOf(':');
    if (decodeURIComponent(part.slice(0, colon)) === channel) return Number(part.slice(colon + 1));
  }
  return Number.NaN;
}
