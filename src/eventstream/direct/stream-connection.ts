import type { ServerResponse } from 'node:http';
import { formatCompositeEventId } from '../events/event-id';
import { encodeFrame, streamResetFrame } from '../sse/sse-frames';
import {
  type StreamCloseReason,
  StreamSession,
  type StreamSessionSettings,
} from '../sse/stream-session';
import type { CommittedEvent } from '../delivery/committed-event';
import { ChannelPositions } from './channel-positions';
import { framesOfPage } from './page-frames';
import type { SharedReads } from './shared-reads';

/**
 * Event data a page holds at most (plus one event): a page is written at
 * once, so this is about the most a slow client's stream keeps in memory.
 */
const PAGE_BYTES = 256 * 1024;

export interface StreamConnectionSettings extends StreamSessionSettings {
  readonly replayPageSize: number;
}

/**
 * One open SSE stream in direct mode. It keeps a cursor per channel and only
 * ever moves it forward, by reading from the store in seq order: replay after
 * connect and live delivery are the same loop, so nothing can be sent twice
 * or skipped between them. Notifications only raise the known head.
 */
export class StreamConnection {
  private readonly cursors: ChannelPositions;
  private readonly heads: ChannelPositions;
  /**
   * The heads known when delivery started: reads up to them are the replay,
   * which a read replica may answer; past them, live reads go to the
   * primary, which a replica a few milliseconds behind would send them to
   * anyway, after a wasted query. Held only while a replay runs: most
   * streams start at the head, and idle streams are many.
   */
  private replayHeads?: ChannelPositions;
  private pumping = false;
  private started = false;
  private pumpAgain = false;
  /** Caught up once: its reads may come from this instance's recent commits. */
  private live = false;
  private readonly session: StreamSession;
  private expiryTimer?: NodeJS.Timeout;
  private expiresAt?: Date;

  constructor(
    readonly channels: readonly string[],
    readonly user: unknown,
    readonly userId: string | undefined,
    readonly request: object,
    response: ServerResponse,
    private readonly reads: SharedReads,
    private readonly settings: StreamConnectionSettings,
    private readonly onClosed: (connection: StreamConnection, reason: StreamCloseReason) => void,
  ) {
    this.cursors = new ChannelPositions(channels);
    this.heads = new ChannelPositions(channels);
    this.session = new StreamSession(response, settings, (reason) => {
      clearTimeout(this.expiryTimer);
      this.onClosed(this, reason);
    });
  }

  get isClosed(): boolean {
    return this.session.isClosed;
  }

  /** Writes the headers, `stream-open` and the connect hook's `initialFrames`. */
  open(initialFrames: string): void {
    this.session.open(initialFrames);
  }

  /**
   * Starts delivery. `positions` holds the client's last seq per channel;
   * channels without one start from `heads` (now).
   */
  start(positions: ReadonlyMap<string, number>, heads: ReadonlyMap<string, number>): void {
    for (const channel of this.channels) {
      const head = heads.get(channel) ?? 0;
      this.cursors.set(channel, positions.get(channel) ?? head);
      this.raiseHead(channel, head);
    }
    if (this.channels.some((c) => this.cursor(c) < (this.heads.get(c) ?? 0))) {
      this.replayHeads = new ChannelPositions(this.channels);
      for (const [channel, head] of this.heads) this.replayHeads.set(channel, head);
    }
    this.started = true;
    this.pump();
  }

  /** Events of `channel` up to `seq` are committed. */
  notifyHead(channel: string, seq: number): void {
    // Heard between subscribing and start(): only note the head, since the
    // cursors are not set yet; start() delivers from the client's position.
    if (!this.raiseHead(channel, seq) || !this.started) return;
    if (!this.pumping && this.live) {
      // Called by the sender's commit: a failure here is this stream's, never the send's.
      try {
        if (this.deliverRecent(channel)) return;
      } catch {
        return this.close('error');
      }
    }
    this.pump();
  }

  /**
   * A stream that keeps up, hearing of this instance's own commit: the
   * events are in memory, so they are written now, in the same turn for
   * every stream of the channel, rather than after a read and a few turns of
   * the pump each. True when that brought the channel to its head. Nothing
   * else moves the cursor meanwhile: the pump is not running.
   */
  private deliverRecent(channel: string): boolean {
    if (!this.session.canWriteNow) return false;
    const after = this.cursor(channel);
    const page = this.reads.recent(channel, after, this.settings.replayPageSize, PAGE_BYTES);
    if (!page) return false;
    this.writePage(channel, page);
    return this.cursor(channel) === this.heads.get(channel);
  }

  /** Closes the stream at `expiresAt`, unless an earlier expiry is already set. */
  expireAt(expiresAt: Date): void {
    if (this.isClosed) return;
    // A stream reads several channels: a later expiry of one of them must
    // not extend the access of another that ends sooner.
    if (this.expiresAt && this.expiresAt <= expiresAt) return;
    this.expiresAt = expiresAt;
    clearTimeout(this.expiryTimer);
    // setTimeout holds at most 2^31 - 1 ms; a later expiry is re-armed then.
    const delay = Math.min(Math.max(expiresAt.getTime() - Date.now(), 0), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      if (Date.now() >= expiresAt.getTime()) {
        this.fail('expired', 'forbidden', 'Access to this stream has expired');
      } else {
        this.expiresAt = undefined;
        this.expireAt(expiresAt);
      }
    }, delay);
    this.expiryTimer.unref();
  }

  /** Ends the stream with a terminal `stream-error` event. */
  fail(reason: StreamCloseReason, condition: string, text: string): void {
    this.session.fail(reason, condition, text);
  }

  close(reason: StreamCloseReason): void {
    this.session.close(reason);
  }

  private raiseHead(channel: string, seq: number): boolean {
    if (seq <= (this.heads.get(channel) ?? -1)) return false;
    this.heads.set(channel, seq);
    return true;
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.catchUp()
      .catch(() => this.close('error'))
      .finally(() => (this.pumping = false));
  }

  private async catchUp(): Promise<void> {
    do {
      this.pumpAgain = false;
      for (const channel of this.channels) {
        // Unequal also when the client's position is beyond the head: the
        // read then reports it, and the stream is reset.
        while (!this.isClosed && this.cursor(channel) !== (this.heads.get(channel) ?? 0)) {
          // A slow client costs at most one page of memory: its cursor stays
          // put and it catches up from the table once it reads again.
          if (!(await this.session.writable())) return;
          if (!(await this.deliverPage(channel))) break;
        }
      }
    } while (this.pumpAgain && !this.isClosed);
    const replayHeads = this.replayHeads;
    if (replayHeads && this.channels.every((c) => this.cursor(c) >= (replayHeads.get(c) ?? 0))) {
      this.replayHeads = undefined;
    }
    this.live = !this.isClosed;
  }

  /** Sends the next page of `channel`; false when there was nothing to send. */
  private async deliverPage(channel: string): Promise<boolean> {
    const after = this.cursor(channel);
    const { replayPageSize: pageSize } = this.settings;
    // Heads come from the primary (its heads at start, the change feed).
    const replayHead = this.replayHeads?.get(channel) ?? 0;
    const minHeadSeq = after < replayHead ? replayHead : undefined;
    let result = await this.reads.read(channel, after, pageSize, PAGE_BYTES, {
      live: this.live,
      minHeadSeq,
    });
    if (result.status === 'events' && result.events.length === 0 && !this.isClosed) {
      // A shared read that began before the commit we heard of finds nothing
      // new; ask once more on our own rather than wait for the next commit.
      result = await this.reads.readFresh(channel, after, pageSize, PAGE_BYTES);
    }
    if (this.isClosed) return false;
    // Only the pump moves cursors once started, but a page must never be
    // written against a cursor that moved while it was read.
    if (this.cursor(channel) !== after) return true;
    if (result.status !== 'events') {
      // Events after the cursor were trimmed, or the cursor is beyond the
      // head (a recreated database): say so, then go on from the head.
      this.cursors.set(channel, result.headSeq);
      this.heads.set(channel, result.headSeq);
      this.session.write(streamResetFrame([channel], this.currentId()));
      return true;
    }
    const { events } = result;
    this.raiseHead(channel, result.headSeq);
    if (events.length === 0) return false;
    // The read asked for seqs after the cursor, and it has not moved since.
    this.writePage(channel, events);
    return true;
  }

  /** Writes the events that follow the cursor of `channel`, and moves it past them. */
  private writePage(channel: string, events: readonly CommittedEvent[]): void {
    this.session.write(
      this.channels.length === 1 ? framesOfPage(events) : this.compositeFrames(events),
    );
    this.cursors.set(channel, events[events.length - 1].seq);
  }

  /** Frames whose ids carry this stream's position in each of its channels. */
  private compositeFrames(events: readonly CommittedEvent[]): string {
    let text = '';
    for (const event of events) {
      this.cursors.set(event.channel, event.seq);
      text += encodeFrame({ event: event.type, id: this.currentId(), data: event.json });
    }
    return text;
  }

  private currentId(): string {
    return formatCompositeEventId(this.cursors);
  }

  private cursor(channel: string): number {
    return this.cursors.get(channel) ?? 0;
  }
}
