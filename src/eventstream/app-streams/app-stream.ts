import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { EventPositionAheadError, EventPositionTooOldError } from '../errors/eventstream.errors';
import { formatEventId } from '../events/event-id';
import type { EventLimits } from '../events/event-limits';
import type { EventRecord, EventStreamService } from '../eventstream.service';
import { waitForDrain } from '../sse/drain';
import {
  DIRECT_STREAM_HEADERS,
  KEEP_ALIVE,
  STREAM_OPEN,
  encodeFrame,
  streamErrorFrame,
  streamResetFrame,
} from '../sse/sse-frames';
import { appStreamFailure } from './app-stream-failure';
import { PendingLimitError, type PullSource } from './pull-source';
import {
  type CheckedStreamEvent,
  checkStreamEvent,
  encodeStreamEvent,
  InvalidStreamEventError,
} from './stream-event';

export interface AppStreamSettings {
  readonly keepAliveMs: number;
  readonly slowClientTimeoutMs: number;
  readonly replayPageSize: number;
  readonly limits: EventLimits;
}

/** A persisted route's channel and the last seq the client has. */
export interface PersistedPosition {
  readonly channel: string;
  seq: number;
  /** Whether the client named a position, so that what it missed is replayed first. */
  readonly replay: boolean;
}

export type AppStreamEnd = 'complete' | 'client' | 'shutdown' | 'error' | 'slow-client';

const logger = new Logger('EventStream');

/**
 * One open stream of an app's method: pulls an event, writes it, waits until
 * the client has taken it, pulls the next. On a persisted route each event
 * is stored first and the client gets every event of the channel after its
 * position, in seq order, also those that other writers appended meanwhile:
 * an id `channel:seq` always means "everything up to seq".
 */
export class AppStream {
  private readonly keepAliveTimer: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly source: PullSource,
    private readonly settings: AppStreamSettings,
    private readonly events: EventStreamService,
    private readonly persisted: PersistedPosition | undefined,
    private readonly onEnd: (stream: AppStream, reason: AppStreamEnd) => void,
  ) {
    this.keepAliveTimer = setTimeout(() => this.keepAlive(), settings.keepAliveMs);
    this.keepAliveTimer.unref();
    response.once('close', () => this.end('client'));
    source.onOverflow(() => this.end('slow-client'));
  }

  /** Writes the headers and `stream-open`, then streams `first` and what follows. */
  async run(first: Promise<IteratorResult<unknown>>): Promise<void> {
    this.response.writeHead(200, DIRECT_STREAM_HEADERS);
    this.response.flushHeaders();
    this.write(STREAM_OPEN);
    try {
      if (this.persisted?.replay) await this.catchUp(Number.MAX_SAFE_INTEGER);
      let step = await first;
      while (!this.ended && !step.done) {
        await this.send(step.value);
        if (!(await this.writable())) return;
        step = await this.source.next();
      }
      this.end('complete');
    } catch (error) {
      if (this.ended) return;
      if (error instanceof PendingLimitError) return this.end('slow-client');
      // Logged there, unless it is an HttpException of the app's.
      const failure = appStreamFailure(error);
      this.write(streamErrorFrame(failure.condition, failure.message));
      this.end('error');
    }
  }

  /** Ends the stream and frees the app's resources. */
  end(reason: AppStreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.keepAliveTimer);
    this.source.stop();
    // A slow client would never take the rest of its buffer: drop it.
    if (reason === 'slow-client') this.response.destroy();
    else if (!this.response.writableEnded) this.response.end();
    if (reason === 'slow-client') logger.warn('Closed an app stream: slow-client');
    this.onEnd(this, reason);
  }

  private async send(value: unknown): Promise<void> {
    const event = checkAppEvent(value, this.settings.limits, this.persisted !== undefined);
    if (!this.persisted) return this.write(encodeStreamEvent(event));
    const [record] = await this.events.sendEvents([
      { channel: this.persisted.channel, type: event.type ?? 'message', data: event.data },
    ]);
    if (this.ended) return;
    // Other writers of the channel may have appended events before this one.
    if (record.seq > this.persisted.seq + 1) await this.catchUp(record.seq - 1);
    this.writeRecord(record, event.retry);
  }

  /** Sends the stored events after the client's position, up to `untilSeq`. */
  private async catchUp(untilSeq: number): Promise<void> {
    const position = this.persisted;
    if (!position) return;
    while (!this.ended && position.seq < untilSeq) {
      let page;
      try {
        page = await this.events.getEvents(position.channel, {
          after: position.seq,
          limit: this.settings.replayPageSize,
        });
      } catch (error) {
        if (!(
          error instanceof EventPositionTooOldError || error instanceof EventPositionAheadError
        )) {
          throw error;
        }
        // What came after the position is gone (trimmed, or a recreated
        // database): say so, and go on from the channel's current seq.
        position.seq = Math.min(error.headSeq, untilSeq);
        this.write(
          streamResetFrame([position.channel], formatEventId(position.channel, position.seq)),
        );
        return;
      }
      for (const record of page.events) {
        if (record.seq > untilSeq) return;
        this.writeRecord(record);
      }
      if (!page.hasMore || !(await this.writable())) return;
    }
  }

  private writeRecord(record: EventRecord, retry?: number): void {
    if (this.persisted) this.persisted.seq = record.seq;
    const frame = encodeFrame({
      event: record.type,
      id: record.id,
      data: JSON.stringify(record.data),
    });
    this.write(retry === undefined ? frame : `retry: ${retry}\n${frame}`);
  }

  private write(frame: string): void {
    if (this.ended) return;
    this.keepAliveTimer.refresh();
    this.response.write(frame);
    // Behind a `compression` middleware, push each event out at once.
    (this.response as ServerResponse & { flush?: () => void }).flush?.();
  }

  /** Waits until the client has taken what was written; drops it past the timeout. */
  private async writable(): Promise<boolean> {
    if (this.ended) return false;
    const drained = await waitForDrain(this.response, this.settings.slowClientTimeoutMs);
    if (!drained) this.end(this.response.destroyed ? 'client' : 'slow-client');
    return drained && !this.ended;
  }

  private keepAlive(): void {
    if (this.ended) return;
    if (this.response.writableNeedDrain) this.keepAliveTimer.refresh();
    else this.write(KEEP_ALIVE);
  }
}

/** Checks a value the method produced; on a persisted route, the store assigns the id. */
export function checkAppEvent(
  value: unknown,
  limits: EventLimits,
  persisted: boolean,
): CheckedStreamEvent {
  const event = checkStreamEvent(value, limits);
  if (persisted && event.id !== undefined) {
    throw new InvalidStreamEventError('a persisted route sends the stored id; give no id');
  }
  return event;
}
