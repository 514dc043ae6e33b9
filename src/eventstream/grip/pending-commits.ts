import type { CommittedEvent } from './committed-event';

/** How long events sent in an app's transaction wait for its commit to be heard. */
const MAX_WAIT_MS = 10 * 60_000;
/** Open transactions tracked at most; the oldest is forgotten first. */
const MAX_PENDING = 10_000;

/**
 * Events written in apps' transactions, by commit marker, until the change
 * feed says that transaction committed. A rolled-back transaction is never
 * heard of: its entry ages out. What ages out or is missed (the feed was
 * reconnecting) is not lost: Pushpin recovers it through the next link.
 */
export class PendingCommits {
  private readonly pending = new Map<string, { events: CommittedEvent[]; since: number }>();

  add(marker: string, events: CommittedEvent[]): void {
    const now = Date.now();
    for (const [oldest, { since }] of this.pending) {
      if (now - since < MAX_WAIT_MS && this.pending.size < MAX_PENDING) break;
      this.pending.delete(oldest);
    }
    this.pending.set(marker, { events, since: now });
  }

  /** The events of a transaction that committed, once. */
  take(marker: string): CommittedEvent[] | undefined {
    const entry = this.pending.get(marker);
    this.pending.delete(marker);
    return entry?.events;
  }

  get size(): number {
    return this.pending.size;
  }
}
