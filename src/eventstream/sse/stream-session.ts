import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { waitForDrain } from './drain';
import { chunkOf, socketOf } from './socket-output';
import {
  type KeepAliveClock,
  type KeepAliveTarget,
  keepAliveClock,
  TICKS_PER_INTERVAL,
} from './keep-alive-clock';
import { DIRECT_STREAM_HEADERS, KEEP_ALIVE, STREAM_OPEN, streamErrorFrame } from './sse-frames';

export interface StreamSessionSettings {
  readonly keepAliveMs: number;
  readonly slowClientTimeoutMs: number;
}

/** Why a stream ended, for logs and for the stream's owner. */
export type StreamCloseReason =
  'client' | 'complete' | 'shutdown' | 'slow-client' | 'error' | 'revoked' | 'expired';

/**
 * The life of one SSE response this instance holds itself: headers and
 * `stream-open`, writes, keep-alives on silence, waiting for a slow client
 * and dropping it, and the close. What to send is its owner's business: the
 * events endpoint's cursors, or an app method's stream.
 */
export class StreamSession implements KeepAliveTarget {
  private readonly clock: KeepAliveClock;
  /** The clock's tick at the last write. */
  private wroteAt = 0;
  private opened = false;
  private closed = false;
  /** Where writes go once the headers are out, when it is the same as the response ({@link socketOf}). */
  private socket?: Socket;

  constructor(
    private readonly response: ServerResponse,
    private readonly settings: StreamSessionSettings,
    private readonly onClose: (reason: StreamCloseReason) => void,
  ) {
    this.clock = keepAliveClock(settings.keepAliveMs);
    // `on`, not `once`: 'close' comes once, and `once` would hold a wrapper
    // for the stream's whole life.
    response.on('close', () => this.close('client'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes the headers, `stream-open` and `initialFrames`, and starts the keep-alives. */
  open(initialFrames = ''): void {
    if (this.closed || this.opened) return;
    this.opened = true;
    this.response.writeHead(200, DIRECT_STREAM_HEADERS);
    this.response.flushHeaders();
    this.socket = socketOf(this.response);
    this.clock.add(this);
    this.write(STREAM_OPEN + initialFrames);
  }

  /** Whether the client has taken what was written, so a write goes out now. */
  get canWriteNow(): boolean {
    return !this.closed && !this.backedUp;
  }

  private get backedUp(): boolean {
    return (this.socket ?? this.response).writableNeedDrain;
  }

  /** A Buffer is written as it is: one encoded page can go to every stream. */
  write(frames: string | Buffer): void {
    if (this.closed) return;
    this.wroteAt = this.clock.tick;
    if (this.socket) {
      const chunk = chunkOf(frames);
      if (chunk) this.socket.write(chunk);
      return;
    }
    this.response.write(frames);
    // Behind a `compression` middleware, push each event out at once.
    (this.response as ServerResponse & { flush?: () => void }).flush?.();
  }

  /**
   * Waits until the client has taken what was written. Past
   * `slowClientTimeoutMs` the stream is closed as `slow-client`, so a slow
   * client costs at most what was written before the wait.
   */
  async writable(): Promise<boolean> {
    if (this.closed) return false;
    const drained = await waitForDrain(
      this.socket ?? this.response,
      this.response,
      this.settings.slowClientTimeoutMs,
    );
    if (!drained) this.close(this.response.destroyed ? 'client' : 'slow-client');
    return drained && !this.closed;
  }

  /** Ends the stream with a terminal `stream-error` event. */
  fail(reason: StreamCloseReason, condition: string, text: string): void {
    // Before open() there is no event stream to carry the event yet.
    if (this.opened) this.write(streamErrorFrame(condition, text));
    this.close(reason);
  }

  close(reason: StreamCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.remove(this);
    // A slow client would never take the rest of its buffer: drop it.
    if (reason === 'slow-client') this.response.destroy();
    else if (!this.response.writableEnded) this.response.end();
    this.onClose(reason);
  }

  /** Sends a keep-alive after keepAliveMs of silence, unless the client has not taken what was written. */
  onKeepAliveTick(tick: number): void {
    if (this.closed || tick - this.wroteAt < TICKS_PER_INTERVAL) return;
    if (!this.backedUp) this.write(KEEP_ALIVE);
  }
}
