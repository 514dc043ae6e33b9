import type { AppendedEvent, NewEvent } from '../event-store.interface';
import { refusedInput } from './refused-input';

interface Waiting {
  readonly events: readonly NewEvent[];
  readonly resolve: (appended: AppendedEvent[]) => void;
  readonly reject: (error: unknown) => void;
}

/** How the batches reach the database. */
export interface ChannelBatchWrites {
  /**
   * Appends, in one transaction, the events of the channels no one holds a
   * lock on; resolves with those channels and where their events landed.
   */
  onUnlocked(
    events: readonly NewEvent[],
  ): Promise<{ appended: AppendedEvent[]; channels: ReadonlySet<string> }>;
  /** Appends one channel's events, waiting for its lock if it must. */
  onChannel(events: readonly NewEvent[]): Promise<AppendedEvent[]>;
}

/** Most events one batch carries (a single larger send still goes alone). */
const MAX_BATCH_EVENTS = 1_000;
/** Batches committing at once; each holds one pooled connection. */
const MAX_BATCHES_IN_FLIGHT = 2;

/**
 * Group commit across channels, for sends of one channel each. Sends that
 * arrive while batches commit wait, then go together: one statement, one
 * transaction and one WAL flush for many channels, where a group per
 * channel would commit each of them on its own.
 *
 * What grouping per channel gave still holds:
 * - A lock held on one channel (an app's open transaction, another
 *   instance's append) holds up no send on another: the batch skips locked
 *   channels (`SKIP LOCKED`), and their sends go on through
 *   {@link ChannelBatchWrites.onChannel}, which waits for the lock alone.
 * - Sends on one channel commit in the order they came: a channel is in at
 *   most one batch or hand-over at a time, and its later sends wait for it.
 * - Each send is committed before it resolves, gapless, all or none.
 * - A send Postgres refuses for its data fails alone: the batch's sends go
 *   again one channel at a time, where each group does the same.
 */
export class ChannelBatches {
  /** Sends not yet in a batch, per channel, in the order they came. */
  private readonly waiting = new Map<string, Waiting[]>();
  /** Channels in a batch or handed over; their next sends wait. */
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private startScheduled = false;

  constructor(private readonly writes: ChannelBatchWrites) {}

  /** Appends `events`, all of one channel. */
  append(events: readonly NewEvent[]): Promise<AppendedEvent[]> {
    const channel = events[0].channel;
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(channel);
      if (queue) queue.push({ events, resolve, reject });
      else this.waiting.set(channel, [{ events, resolve, reject }]);
      if (this.startScheduled) return;
      // Sends made in one tick (a Promise.all of them) go as one batch
      // rather than the first alone.
      this.startScheduled = true;
      queueMicrotask(() => {
        this.startScheduled = false;
        this.startBatches();
      });
    });
  }

  private startBatches(): void {
    while (this.inFlight < MAX_BATCHES_IN_FLIGHT) {
      const batch = this.takeBatch();
      if (batch.size === 0) return;
      // One channel gains nothing from skipping locks: it waits its turn alone.
      if (batch.size === 1) {
        this.handOver(batch);
        continue;
      }
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.startBatches();
      });
    }
  }

  /** The waiting sends of channels that are not busy, in the order channels came. */
  private takeBatch(): Map<string, Waiting[]> {
    const batch = new Map<string, Waiting[]>();
    let size = 0;
    for (const [channel, queue] of this.waiting) {
      if (this.busy.has(channel)) continue;
      const taken: Waiting[] = [];
      while (
        queue.length > 0 &&
        (size === 0 || size + queue[0].events.length <= MAX_BATCH_EVENTS)
      ) {
        size += queue[0].events.length;
        taken.push(queue.shift() as Waiting);
      }
      if (taken.length === 0) break;
      if (queue.length === 0) this.waiting.delete(channel);
      batch.set(channel, taken);
      this.busy.add(channel);
      if (size >= MAX_BATCH_EVENTS) break;
    }
    return batch;
  }

  /** Commits the batch's unlocked channels; hands the others over. */
  private async commit(batch: Map<string, Waiting[]>): Promise<void> {
    const events = [...batch.values()].flat().flatMap((waiting) => waiting.events);
    let result: Awaited<ReturnType<ChannelBatchWrites['onUnlocked']>>;
    try {
      result = await this.writes.onUnlocked(events);
    } catch (error) {
      // Refused data rolled everything back, so each channel goes again
      // alone, where only the refused send fails. Anything else leaves the
      // commit unknown: sending again could store events twice.
      if (refusedInput(error)) {
        this.handOver(batch);
        return;
      }
      for (const waiting of [...batch.values()].flat()) waiting.reject(error);
      for (const channel of batch.keys()) this.busy.delete(channel);
      return;
    }
    const byChannel = new Map<string, AppendedEvent[]>();
    for (const appended of result.appended) {
      const list = byChannel.get(appended.channel);
      if (list) list.push(appended);
      else byChannel.set(appended.channel, [appended]);
    }
    const locked = new Map<string, Waiting[]>();
    for (const [channel, sends] of batch) {
      if (!result.channels.has(channel)) {
        locked.set(channel, sends);
        continue;
      }
      const landed = byChannel.get(channel) as AppendedEvent[];
      let at = 0;
      for (const waiting of sends) {
        waiting.resolve(landed.slice(at, at + waiting.events.length));
        at += waiting.events.length;
      }
      this.busy.delete(channel);
    }
    this.handOver(locked);
  }

  /**
   * Each channel's sends through its own append, which waits for its lock.
   * They hold no batch slot meanwhile, and each channel takes new sends
   * again once its own are done: a lock held for long on one channel holds
   * up no other.
   */
  private handOver(channels: Map<string, Waiting[]>): void {
    for (const [channel, sends] of channels) {
      void Promise.all(
        sends.map((waiting) =>
          this.writes.onChannel(waiting.events).then(waiting.resolve, waiting.reject),
        ),
      ).finally(() => {
        this.busy.delete(channel);
        this.startBatches();
      });
    }
  }
}
