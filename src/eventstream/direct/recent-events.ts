import type { CommittedEvent } from '../delivery/committed-event';

/** Events kept per channel: the live tail a stream that keeps up reads next. */
const PER_CHANNEL = 64;
/** Event data kept over all channels; the channels written longest ago go first. */
const MAX_BYTES = 4 * 1024 * 1024;

interface Tail {
  /** Consecutive seqs, oldest first. */
  events: CommittedEvent[];
  bytes: number;
  /** The last page handed out, so every stream at one cursor gets the same array. */
  page?: { readonly after: number; readonly events: readonly CommittedEvent[] };
}

/**
 * The events this instance itself just committed, per channel, so that a
 * stream which keeps up gets them without a read from the database: when an
 * event arrives, every stream of its channel asks for the seqs right after
 * it. Only what was committed goes in (the append's own result), and only
 * runs of consecutive seqs are kept, so a page from here is exactly what the
 * table holds; anything else (another instance's events, a stream that is
 * behind) is read from the database.
 */
export class RecentEvents {
  private readonly tails = new Map<string, Tail>();
  private bytes = 0;

  /** Notes committed events (any channels, each channel's in seq order). */
  add(events: readonly CommittedEvent[]): void {
    for (const event of events) this.addOne(event);
  }

  /**
   * The events of `channel` after `afterSeq`, at most `limit` and about
   * `maxBytes` of data (at least one), if they are all here; undefined if
   * any might be missing.
   */
  page(
    channel: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): readonly CommittedEvent[] | undefined {
    const tail = this.tails.get(channel);
    if (!tail) return undefined;
    const { events } = tail;
    const first = events[0].seq;
    if (afterSeq < first - 1 || afterSeq >= events[events.length - 1].seq) return undefined;
    if (tail.page?.after === afterSeq) return tail.page.events;
    let end = afterSeq - first + 1;
    let bytes = 0;
    const start = end;
    while (end < events.length && end - start < limit && (end === start || bytes < maxBytes)) {
      bytes += events[end].json.length;
      end++;
    }
    tail.page = { after: afterSeq, events: events.slice(start, end) };
    return tail.page.events;
  }

  private addOne(event: CommittedEvent): void {
    let tail = this.tails.get(event.channel);
    const last = tail?.events[tail.events.length - 1];
    if (!tail || !last || event.seq !== last.seq + 1) {
      // Not the next seq (another instance committed in between, or callbacks
      // came out of order): start again from this one.
      if (tail) this.drop(event.channel, tail);
      tail = { events: [], bytes: 0 };
    } else {
      // Latest written last: the Map's order is the order of eviction.
      this.tails.delete(event.channel);
    }
    this.tails.set(event.channel, tail);
    tail.events.push(event);
    tail.bytes += event.json.length;
    this.bytes += event.json.length;
    tail.page = undefined;
    if (tail.events.length > PER_CHANNEL) {
      const [dropped] = tail.events.splice(0, 1);
      tail.bytes -= dropped.json.length;
      this.bytes -= dropped.json.length;
    }
    for (const [channel, oldest] of this.tails) {
      if (this.bytes <= MAX_BYTES || oldest === tail) break;
      this.drop(channel, oldest);
    }
  }

  private drop(channel: string, tail: Tail): void {
    this.tails.delete(channel);
    this.bytes -= tail.bytes;
  }
}
