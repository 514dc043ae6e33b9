import type { EventStreamTransaction } from './transaction';

/** A user on a channel. `userId` is `''` for streams whose user is unknown. */
export interface PresenceKey {
  readonly channel: string;
  readonly userId: string;
}

/** One instance's open streams of a user on a channel. */
export interface PresenceShare extends PresenceKey {
  /** 0 while the user's last stream there is closed but a reconnect may still come. */
  readonly streams: number;
}

/** A user's arrival on a channel, or departure from it, to announce. */
export interface PresenceChange extends PresenceKey {
  readonly action: 'join' | 'leave';
}

/** Appends the announcements of {@link PresenceStore.settle} in its transaction. */
export type PresenceAnnouncer = (
  changes: readonly PresenceChange[],
  transaction: EventStreamTransaction,
) => Promise<void>;

/**
 * Where each instance keeps its share of the open streams (direct mode), so
 * that every instance counts all of them. An instance rewrites its shares
 * as streams open and close, and is alive while it keeps writing: the
 * shares of an instance that stopped for `ttlMs` no longer count, and
 * {@link reap} deletes them.
 */
export interface PresenceStore {
  /**
   * Replaces this instance's shares of the keys given (`removed` deletes
   * them) and keeps the instance alive for `ttlMs` from now. Resolves with
   * `known: false` when the instance was not alive before this call (it
   * expired, or the table was emptied): its other shares are gone, and it
   * must write them all again.
   */
  write(
    instanceId: string,
    shares: readonly PresenceShare[],
    removed: readonly PresenceKey[],
    ttlMs: number,
  ): Promise<{ readonly known: boolean }>;
  /** Streams per user id (`''`: unknown users) on `channel`, of live instances but `exceptInstanceId`. */
  read(channel: string, exceptInstanceId: string): Promise<Map<string, number>>;
  /** Deletes expired instances and their shares. */
  reap(): Promise<void>;
  /** Known users present on a channel but not announced, or announced but gone. */
  unsettled(): Promise<PresenceKey[]>;
  /**
   * For each key, one at a time across instances: announces a join when the
   * user is present (a share on a live instance, lingering ones included)
   * and was not announced, a leave when they were and are gone. `announce`
   * appends the events in the transaction that records them as announced,
   * so each arrival and departure is announced once. Resolves with what was
   * announced.
   */
  settle(keys: readonly PresenceKey[], announce: PresenceAnnouncer): Promise<PresenceChange[]>;
}

/** Injection token of the {@link PresenceStore} in use. */
export const PRESENCE_STORE = Symbol('PRESENCE_STORE');
