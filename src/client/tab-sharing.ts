import {
  earliest,
  formatPosition,
  isSeen,
  latest,
  parsePosition,
  type Position,
} from './event-position.js';
import type { ConnectionState } from './event-stream.types.js';
import type { SseMessage } from './sse-parser.js';
import { StreamConnection, type ConnectionSettings } from './stream-connection.js';
import { StreamError } from './stream-error.js';
import type { StreamSink, StreamSource } from './stream-sink.js';

/**
 * Names the lock and the BroadcastChannel: tabs running another version of
 * these messages never join them.
 */
const PROTOCOL = 'nestjs-eventstream/share/1';

/**
 * How long a leader whose stream ended for good keeps the lock: time for
 * the other tabs to read that end and leave the lock's queue, instead of
 * taking over to be refused in turn.
 */
const TERMINAL_LINGER_MS = 1000;

/** A `StreamError` as it crosses to other tabs (structured clone drops its class). */
interface ErrorFields {
  readonly condition: string;
  readonly message: string;
  readonly terminal: boolean;
  readonly status: number | undefined;
}

/** What the tabs of one shared stream tell each other. */
type ShareMessage =
  /** A tab arrives (or greets a new leader) and says where it is. */
  | { readonly kind: 'join'; readonly from: string; readonly position: string | undefined }
  /** The leader's answer to a join: the stream's state and the last position read. */
  | {
      readonly kind: 'hello';
      readonly to: string;
      readonly state: ConnectionState;
      readonly position: string | undefined;
    }
  /** A tab took over the connection. */
  | { readonly kind: 'leader' }
  | { readonly kind: 'event'; readonly message: SseMessage }
  | { readonly kind: 'state'; readonly state: ConnectionState }
  | { readonly kind: 'error'; readonly error: ErrorFields };

// The browser APIs used, declared here: the library's own type check (and
// the linter's) runs without the DOM's types.
interface TabChannel {
  onmessage: ((event: { readonly data: ShareMessage }) => void) | null;
  postMessage(message: ShareMessage): void;
  close(): void;
}

interface TabApis {
  readonly BroadcastChannel: new (name: string) => TabChannel;
  readonly locks: {
    request(
      name: string,
      options: { readonly mode: 'exclusive'; readonly signal: AbortSignal },
      callback: () => Promise<void>,
    ): Promise<void>;
  };
  readonly subtle: { digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer> };
}

/**
 * The APIs tabs need to share, where they all are: a browser page with Web
 * Locks (secure contexts only), BroadcastChannel and SubtleCrypto. Not Node
 * or workers, which have no per-origin connection limit to spare.
 */
export function tabApis(): TabApis | undefined {
  const scope = globalThis as unknown as {
    document?: unknown;
    BroadcastChannel?: TabApis['BroadcastChannel'];
    navigator?: { locks?: TabApis['locks'] };
    crypto?: { subtle?: TabApis['subtle'] };
  };
  const { BroadcastChannel } = scope;
  const locks = scope.navigator?.locks;
  const subtle = scope.crypto?.subtle;
  if (scope.document === undefined || typeof BroadcastChannel !== 'function') return undefined;
  if (typeof locks?.request !== 'function' || !subtle) return undefined;
  return { BroadcastChannel, locks, subtle };
}

/**
 * What makes two streams the same: the URL with its channels sorted (the
 * position left out: each tab keeps its own), the headers and the
 * credentials, which can change who the server takes the reader for. Hashed,
 * so that no token appears in lock names that other scripts can list.
 */
export async function shareKey(
  settings: ConnectionSettings,
  subtle: TabApis['subtle'],
): Promise<string> {
  const url = new URL(settings.url);
  const params: [string, string][] = [];
  url.searchParams.forEach((value, name) => params.push([name, value]));
  params.sort(([a, aValue], [b, bValue]) =>
    a !== b
      ? a < b
        ? -1
        : 1
      : a === 'channel' && aValue !== bValue
        ? aValue < bValue
          ? -1
          : 1
        : 0,
  );
  url.search = new URLSearchParams(params).toString();
  const headers = Object.entries(settings.headers ?? {})
    .map(([name, value]) => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const identity = JSON.stringify([url.href, headers, settings.credentials]);
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(identity));
  const hex = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0'));
  return `${PROTOCOL}:${hex.join('')}`;
}

/**
 * One tab's part in a stream its tabs share. Every tab asks for the same
 * Web Lock; the one holding it (the leader) reads the stream and posts what
 * it reads on the BroadcastChannel, and delivers it to its own stream the
 * same way. The lock goes with the tab: when the leader closes or its tab
 * goes away, the next tab in the lock's queue leads, from the last position
 * any tab saw (each tab notes the ids of everything posted).
 *
 * A tab that arrives behind (it resumes from an older id) makes the leader
 * read again from there; every tab skips, by its own position, what it has
 * already had. So no tab misses or repeats an event across a hand-over.
 */
export class SharedStream implements StreamSource {
  private readonly id = `${Date.now()}-${Math.random()}`;
  private readonly queue = new AbortController();
  private channel: TabChannel | undefined;
  /** While this tab leads. */
  private connection: StreamConnection | undefined;
  private release: (() => void) | undefined;
  /** The last position any tab read, as far as this tab heard. */
  private seen: Position | undefined;
  private seenId: string | undefined;
  private own: StreamSource | undefined;
  private closed = false;
  private ended = false;

  constructor(
    private readonly apis: TabApis,
    private readonly settings: ConnectionSettings,
    private readonly channels: readonly string[],
    private readonly sink: StreamSink,
    /** A connection of its own, where sharing turns out not to work. */
    private readonly alone: () => StreamSource,
  ) {
    void this.join();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.own?.close();
    this.queue.abort();
    this.connection?.stop();
    this.connection = undefined;
    const release = this.release;
    if (release && this.ended) setTimeout(release, TERMINAL_LINGER_MS);
    else release?.();
    this.channel?.close();
  }

  private async join(): Promise<void> {
    let name: string;
    try {
      name = await shareKey(this.settings, this.apis.subtle);
    } catch {
      return this.fallBack();
    }
    if (this.closed) return;
    const channel = (this.channel = new this.apis.BroadcastChannel(name));
    channel.onmessage = (event) => this.receive(event.data);
    this.post({ kind: 'join', from: this.id, position: this.sink.lastEventId });
    this.apis.locks
      .request(name, { mode: 'exclusive', signal: this.queue.signal }, () => this.lead())
      // Aborted by close(), or refused (an opaque origin): then alone.
      .catch(() => this.fallBack());
  }

  private fallBack(): void {
    if (this.closed || this.own) return;
    this.channel?.close();
    this.channel = undefined;
    this.own = this.alone();
  }

  /** Holds the lock, reading the stream, until this tab's stream closes. */
  private async lead(): Promise<void> {
    if (this.closed) return;
    const own = parsePosition(this.sink.lastEventId, this.channels);
    const from =
      own && this.seen
        ? formatPosition(latest(own, this.seen))
        : (this.seenId ?? this.sink.lastEventId);
    const state = this.sink.state === 'connecting' ? 'connecting' : 'reconnecting';
    this.connection = new StreamConnection(
      this.settings,
      {
        message: (message) => this.fanOut({ kind: 'event', message }),
        state: (next) => this.fanOut({ kind: 'state', state: next }),
        error: ({ condition, message, terminal, status }) =>
          this.fanOut({ kind: 'error', error: { condition, message, terminal, status } }),
      },
      from,
      state,
    );
    this.note(from);
    this.post({ kind: 'leader' });
    this.fanOut({ kind: 'state', state });
    this.connection.start();
    await new Promise<void>((resolve) => (this.release = resolve));
  }

  /** To the other tabs, and to this one's stream. */
  private fanOut(message: ShareMessage): void {
    this.post(message);
    this.receive(message);
  }

  private post(message: ShareMessage): void {
    this.channel?.postMessage(message);
  }

  private receive(message: ShareMessage): void {
    if (this.closed) return;
    switch (message.kind) {
      case 'event':
        this.note(message.message.id);
        return this.sink.deliver(message.message);
      case 'state':
        return this.sink.setState(message.state);
      case 'error': {
        const { condition, message: text, terminal, status } = message.error;
        this.ended ||= terminal;
        return this.sink.fail(new StreamError(condition, text, terminal, status));
      }
      case 'join':
        return this.welcome(message.from, message.position);
      case 'hello':
        this.note(message.position);
        if (message.to !== this.id) return;
        this.sink.adopt(message.position);
        return this.sink.setState(message.state);
      case 'leader':
        // The new leader started from the last position it heard of: a tab
        // further behind says so, to be read again from there.
        if (!this.connection) {
          this.post({ kind: 'join', from: this.id, position: this.sink.lastEventId });
        }
        return;
    }
  }

  private welcome(from: string, position: string | undefined): void {
    const connection = this.connection;
    if (!connection) return;
    this.post({ kind: 'hello', to: from, state: connection.state, position: this.seenId });
    const theirs = parsePosition(position, this.channels);
    if (!theirs) return;
    const reading = parsePosition(connection.position, this.channels);
    if (!reading) return connection.restart(position);
    if (!isSeen(reading, theirs)) {
      connection.restart(formatPosition(earliest(reading, theirs)));
    }
  }

  private note(id: string | undefined): void {
    const position = parsePosition(id, this.channels);
    if (!position) return;
    this.seen = this.seen ? latest(this.seen, position) : position;
    this.seenId = formatPosition(this.seen);
  }
}
