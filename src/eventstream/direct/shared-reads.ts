import type { EventStore, ReadResult } from '../storage/event-store.interface';

/**
 * Reads through the store, merging identical reads that are in flight: when
 * an event arrives, every stream of its channel sits at the same cursor and
 * asks for the same page, and one query answers them all. `minHeadSeq` as
 * for {@link EventStore.read}: given for replay, where a replica may answer.
 */
export class SharedReads {
  private readonly inFlight = new Map<string, Promise<ReadResult>>();

  constructor(private readonly store: EventStore) {}

  read(
    channel: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
    minHeadSeq?: number,
  ): Promise<ReadResult> {
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
