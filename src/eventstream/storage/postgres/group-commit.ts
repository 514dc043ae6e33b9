import type { AppendedEvent, NewEvent } from '../event-store.interface';
import { refusedInput } from './refused-input';

interface Waiting {
  readonly events: readonly NewEvent[];
  readonly resolve: (appended: AppendedEvent[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Most events one combined append carries (a single larger call still goes alone). */
const MAX_GROUP_EVENTS = 1_000;

/**
 * Group commit: appends that arrive while one is being committed wait, and
 * then go to the database together, as one statement and one transaction.
 * A lone caller goes at once, so it waits for nothing; under concurrency,
 * one commit (one round trip, one WAL flush, one hold of a channel's
 * counter-row lock) serves many callers.
 *
 * What each caller was promised still holds: its events are committed
 * before its promise resolves; they get consecutive seqs per channel in the
 * order given, all or none; and since each group is one append, seqs stay
 * gapless and in commit order. Groups go one after another, in the order
 * their callers came.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private committing = false;

  constructor(
    private readonly write: (events: readonly NewEvent[]) => Promise<AppendedEvent[]>,
    /** Called when nothing waits any more, to let go of an idle group. */
    private readonly onIdle: () => void = () => undefined,
  ) {}

  append(events: readonly NewEvent[]): Promise<AppendedEvent[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      if (this.committing) return;
      this.committing = true;
      // Sends handed over together (by ChannelBatches) come in one tick:
      // they go as one group rather than the first alone.
      queueMicrotask(() => void this.commitWaiting());
    });
  }

  // One group at a time: while it commits, the next one gathers. (Two at a
  // time measured no better: on one hot channel the second only waits for
  // the first's counter-row lock, and Postgres serialises the commits of
  // transactions that NOTIFY anyway.)
  private async commitWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      await this.commit(this.takeGroup());
    }
    this.committing = false;
    this.onIdle();
  }

  private takeGroup(): Waiting[] {
    let size = this.waiting[0].events.length;
    let count = 1;
    while (
      count < this.waiting.length &&
      size + this.waiting[count].events.length <= MAX_GROUP_EVENTS
    ) {
      size += this.waiting[count].events.length;
      count++;
    }
    return this.waiting.splice(0, count);
  }

  private async commit(group: Waiting[]): Promise<void> {
    if (group.length === 1) {
      await this.write(group[0].events).then(group[0].resolve, group[0].reject);
      return;
    }
    let appended: AppendedEvent[];
    try {
      appended = await this.write(group.flatMap((waiting) => waiting.events));
    } catch (error) {
      if (!refusedInput(error)) {
        group.forEach((waiting) => waiting.reject(error));
        return;
      }
      // Postgres refused the data, so nothing of it was committed: each
      // caller's events go again on their own, in the order they came, so
      // one caller's bad input fails that caller only.
      for (const waiting of group) {
        await this.write(waiting.events).then(waiting.resolve, waiting.reject);
      }
      return;
    }
    let at = 0;
    for (const waiting of group) {
      waiting.resolve(appended.slice(at, at + waiting.events.length));
      at += waiting.events.length;
    }
  }
}
