import type { CommittedEvent } from '../delivery/committed-event';

/** How long events sent in an app's transaction wait for its commit to be heard. */
const MAX_WAIT_MS = 10 * 60_000;
/** Open transactions tracked at most; the oldest is forgotten first. */
const MAX_PENDING = 10_000;
/** Bytes of event data held at most (rolled-back transactions hold theirs until they age out). */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * Events written in apps' transactions, by commit marker, until the change
 * feed says that transaction committed. A rolled-back transaction is never
 * heard of: its entry ages out. What ages out or is missed (the feed was
 * reconnecting) is not lost: Pushpin recovers it through the next link.
 */
export class PendingCommits {
  private readonly pending = new Map<
    string,
    { events: readonly CommittedEvent[]; since: number; bytes: number }
  >();
  private bytes = 0;

  add(marker: string, events: readonly CommittedEvent[]): void {
    const now = Date.now();
    const bytes = events.reduce((sum, event) => sum + event.json.length + event.type.length, 0);
    for (const [oldest, entry] of this.pending) {
      const full = this.pending.size >= MAX_PENDING || this.bytes + bytes > MAX_PENDING_BYTES;
      if (now - entry.since < MAX_WAIT_MS && !full) break;
      this.forget(oldest);
    }
    this.pending.set(marker, { events, since: now, bytes });
    this.bytes += bytes;
  }

  /** The events of a transaction that committed, once. */
  take(marker: string): readonly CommittedEvent[] | undefined {
    const entry = this.pending.get(marker);
    this.forget(marker);
    return entry?.events;
  }

  private forget(marker: string): void {
    const entry = this.pending.get(marker);
    if (!entry) return;
    this.pending.delete(marker);
    this.bytes -= entry.bytes;
  }

  get size(): number {
    return this.pending.size;
  }
}
