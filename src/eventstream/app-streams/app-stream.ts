import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { EventPositionAheadError, EventPositionTooOldError } from '../errors/eventstream.errors';
import { formatEventId } from '../events/event-id';
import type { EventLimits } from '../events/event-limits';
import type { EventRecord, EventStreamService } from '../eventstream.service';
import { encodeFrame, streamResetFrame } from '../sse/sse-frames';
import {
  type StreamCloseReason,
  StreamSession,
  type StreamSessionSettings,
} from '../sse/stream-session';
import { appStreamFailure } from './app-stream-failure';
import { PendingLimitError, type PullSource } from './pull-source';
import {
  type CheckedStreamEvent,
  checkStreamEvent,
  encodeStreamEvent,
  InvalidStreamEventError,
} from './stream-event';

export interface AppStreamSettings extends StreamSessionSettings {
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

const logger = new Logger('EventStream');

/**
 * One open stream of an app's method: pulls an event, writes it, waits until
 * the client has taken it, pulls the next. On a persisted route each event
 * is stored first and the client gets every event of the channel after its
 * position, in seq order, also those that other writers appended meanwhile:
 * an id `channel:seq` always means "everything up to seq".
 */
export class AppStream {
  private readonly session: StreamSession;

  constructor(
    response: ServerResponse,
    private readonly source: PullSource,
    private readonly settings: AppStreamSettings,
    private readonly events: EventStreamService,
    private readonly persisted: PersistedPosition | undefined,
    private readonly onEnd: (stream: AppStream, reason: StreamCloseReason) => void,
  ) {
    this.session = new StreamSession(response, settings, (reason) => {
      this.source.stop();
      if (reason === 'slow-client') logger.warn('Closed an app stream: slow-client');
      this.onEnd(this, reason);
    });
    source.onOverflow(() => this.end('slow-client'));
  }

  /** Writes the headers and `stream-open`, then streams `first` and what follows. */
  async run(first: Promise<IteratorResult<unknown>>): Promise<void> {
    this.session.open();
    try {
      if (this.persisted?.replay) await this.catchUp(Number.MAX_SAFE_INTEGER);
      let step = await first;
      while (!this.session.isClosed && !step.done) {
        await this.send(step.value);
        if (!(await this.session.writable())) return;
        step = await this.source.next();
      }
      this.end('complete');
    } catch (error) {
      if (this.session.isClosed) return;
      if (error instanceof PendingLimitError) return this.end('slow-client');
      // Logged there, unless it is an HttpException of the app's.
      const failure = appStreamFailure(error);
      this.session.fail('error', failure.condition, failure.message);
    }
  }

  /** Ends the stream and frees the app's resources. */
  end(reason: StreamCloseReason): void {
    this.session.close(reason);
  }

  private async send(value: unknown): Promise<void> {
    const event = checkAppEvent(value, this.settings.limits, this.persisted !== undefined);
    if (!this.persisted) return this.session.write(encodeStreamEvent(event));
    const [record] = await this.events.sendEvents([
      { channel: this.persisted.channel, type: event.type ?? 'message', data: event.data },
    ]);
    if (this.session.isClosed) return;
    // Other writers of the channel may have appended events before this one.
    if (record.seq > this.persisted.seq + 1) await this.catchUp(record.seq - 1);
    this.writeRecord(record, event.retry);
  }

  /** Sends the stored events after the client's position, up to `untilSeq`. */
  private async catchUp(untilSeq: number): Promise<void> {
    const position = this.persisted;
    if (!position) return;
    while (!this.session.isClosed && position.seq < untilSeq) {
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
        this.session.write(
          streamResetFrame([position.channel], formatEventId(position.channel, position.seq)),
        );
        return;
      }
      for (const record of page.events) {
        if (record.seq > untilSeq) return;
        this.writeRecord(record);
      }
      if (!page.hasMore || !(await this.session.writable())) return;
    }
  }

  private writeRecord(record: EventRecord, retry?: number): void {
    if (this.persisted) this.persisted.seq = record.seq;
    const frame = encodeFrame({
      event: record.type,
      id: record.id,
      data: JSON.stringify(record.data),
    });
    this.session.write(retry === undefined ? frame : `retry: ${retry}\n${frame}`);
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
