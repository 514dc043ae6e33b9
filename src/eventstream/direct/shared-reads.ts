import type { CommittedEvent } from '../delivery/committed-event';
import type { EventStore, ReadResult } from '../storage/event-store.interface';
import { RecentEvents } from './recent-events';

/** A read's answer, with events of the store or of {@link RecentEvents}. */
export type PageResult =
  | Exclude<ReadResult, { status: 'events' }>
  | {
      readonly status: 'events';
      readonly events: readonly CommittedEvent[];
      readonly headSeq: number;
    };

/**
 * Reads through the store, merging identical reads that are in flight: when
 * an event arrives, every stream of its channel sits at the same cursor and
 * asks for the same page, and one query answers them all. A stream that
 * keeps up gets this instance's own commits from memory, without a query.
 */

/** How a page is read. */
export interface PageReadOptions {
  /**
   * For a stream that has caught up once. Only such a read may be answered
   * from memory: one that resumes an older position must learn from the
   * table whether its events are still kept (`too-old`).
   */
  readonly live?: boolean;
  /** As for {@link EventStore.read}: given for replay, where a replica may answer. */
  readonly minHeadSeq?: number;
}

export class SharedReads {
  private readonly inFlight = new Map<string, Promise<ReadResult>>();
  private readonly recentEvents = new RecentEvents();

  constructor(private readonly store: EventStore) {}

  /** Events this instance committed, for {@link read} with `live`. */
  committed(events: readonly CommittedEvent[]): void {
    this.recentEvents.add(events);
  }

  /** Events after `afterSeq` from this instance's recent commits, if all of them are there. */
  recent(
    channel: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): readonly CommittedEvent[] | undefined {
    return this.recentEvents.page(channel, afterSeq, limit, maxBytes);
  }

  read(
    channel: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
    { live = false, minHeadSeq }: PageReadOptions = {},
  ): Promise<PageResult> {
    const recent = live ? this.recent(channel, afterSeq, limit, maxBytes) : undefined;
    if (recent) {
      const headSeq = recent[recent.length - 1].seq;
      return Promise.resolve({ status: 'events', events: recent, headSeq });
    }
    const key = `${afterSeq} ${limit} ${maxBytes} ${minHeadSeq ?? '-'} ${channel}`;
    let read = this.inFlight.get(key);
    if (!read) {
      read = this.store
        .read(channel, afterSeq, limit, maxBytes, minHeadSeq)
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, read);
    }
    return read;
  }

  /**
   * Reads without joining a read in flight, which may have started before
   * the commit the caller was just told about.
   */
  readFresh(
    channel: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
    minHeadSeq?: number,
  ): Promise<ReadResult> {
    return this.store.read(channel, afterSeq, limit, maxBytes, minHeadSeq);
  }
}
