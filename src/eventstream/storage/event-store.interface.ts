import type { EventStreamTransaction } from './transaction';

/** An event ready to be stored: validated, its data already JSON-encoded. */
export interface NewEvent {
  readonly channel: string;
  readonly type: string;
  /** The JSON text of the event's data. */
  readonly json: string;
}

export interface StoredEvent {
  readonly channel: string;
  /** Position in the channel: 1, 2, 3, … with no gaps, in commit order. */
  readonly seq: number;
  readonly type: string;
  /**
   * The JSON text of the event's data, as stored: streams send it as it is,
   * so it is never decoded and encoded again on the way out.
   */
  readonly json: string;
  readonly createdAt: Date;
}

/** What an append returns for each event: where it landed. */
export interface AppendedEvent {
  readonly channel: string;
  readonly seq: number;
  readonly createdAt: Date;
}

/**
 * The result of reading a channel after a position.
 * - `events`: the next events in seq order (possibly none); `headSeq` is the
 *   channel's current seq as of the read.
 * - `too-old`: events right after the position were trimmed by retention.
 * - `ahead`: the position is beyond the channel's current seq.
 */
export type ReadResult =
  | { readonly status: 'events'; readonly events: readonly StoredEvent[]; readonly headSeq: number }
  | { readonly status: 'too-old'; readonly oldestSeq: number; readonly headSeq: number }
  | { readonly status: 'ahead'; readonly headSeq: number };

export interface LatestEvents {
  readonly events: readonly StoredEvent[];
  readonly headSeq: number;
  /** Whether events older than the first one returned are kept. */
  readonly hasOlder: boolean;
}

export interface AppendOptions {
  /**
   * Write through the app's transaction instead of one of the store's own:
   * the events commit, and are announced, only if it commits.
   */
  readonly transaction?: EventStreamTransaction;
  /** Announced through the change feed (`onCommitted`) when the events commit. */
  readonly commitMarker?: string;
}

export interface TrimPolicy {
  readonly maxEventsPerChannel: number | null;
  readonly maxAgeMs: number | null;
  /** Idempotency keys older than this many milliseconds are deleted too. */
  readonly idempotencyWindowMs: number;
}

/** The idempotency key of an {@link EventStore.appendOnce}, and how long it holds. */
export interface IdempotencyKey {
  readonly key: string;
  /** A key older than this many milliseconds is free again, trimmed or not. */
  readonly windowMs: number;
}

/** What {@link EventStore.appendOnce} did. */
export interface AppendOnceResult {
  /** Where the events are: just stored, or stored by the first send with the key. */
  readonly appended: AppendedEvent[];
  /** Whether the key was live, so that nothing was stored now. */
  readonly replayed: boolean;
}

/**
 * Where events live. The module registers the Postgres store (queries on
 * `pg`, tables from the migrations in `prisma/`) under {@link EVENT_STORE};
 * another implementation can replace that provider (e.g.
 * `overrideProvider(EVENT_STORE)`), and health checks it through {@link ping}.
 * Every implementation must keep per-channel seqs gapless and commit them in
 * order: a reader that has seen seq n+1 must never later find a new event
 * with seq <= n.
 */
export interface EventStore {
  /**
   * Stores all events in one transaction; resolves once they are committed
   * (the caller then announces them), or, in the app's `transaction`, once
   * they are written in it (they are announced, with the `commitMarker`,
   * only when it commits).
   */
  append(events: readonly NewEvent[], options?: AppendOptions): Promise<AppendedEvent[]>;
  /**
   * {@link append} under an idempotency key, stored in the same transaction
   * as the events. While the key is live (younger than its window), a second
   * call stores nothing and resolves with where the first call's events are
   * (`replayed`); a call while the first is uncommitted waits for its outcome.
   * Rejects with `IdempotencyKeyReusedError` when the live key was used for
   * other events (channels, types or data, in order).
   */
  appendOnce(
    events: readonly NewEvent[],
    key: IdempotencyKey,
    options?: AppendOptions,
  ): Promise<AppendOnceResult>;
  /**
   * Reads up to `limit` events of `channel` with seq > `afterSeq`. Without
   * `afterSeq`, reads from the oldest event kept. With `maxBytes`, stops
   * after the event that takes the page's JSON past that many bytes (so a
   * page always has an event when there is one).
   *
   * `minHeadSeq` is a head of the channel the caller learned from the
   * primary ({@link headSeqs}, the change feed, a proxy's position): a store
   * with read replicas may then answer from one whose head has reached it
   * (and `afterSeq`), as its page holds the same events; without it, the
   * primary answers.
   */
  read(
    channel: string,
    afterSeq: number | undefined,
    limit: number,
    maxBytes?: number,
    minHeadSeq?: number,
  ): Promise<ReadResult>;
  /**
   * Reads the newest `limit` events of `channel` with seq < `beforeSeq`
   * (without it: the newest kept), oldest first, with the channel's head.
   * `minHeadSeq` as for {@link read}.
   */
  readLatest(
    channel: string,
    beforeSeq: number | undefined,
    limit: number,
    minHeadSeq?: number,
  ): Promise<LatestEvents>;
  /**
   * The current seq of each channel (0 for a channel that never had an
   * event), always from the primary.
   */
  headSeqs(channels: readonly string[]): Promise<Map<string, number>>;
  /**
   * Deletes what the policy no longer keeps, expired idempotency keys
   * included; resolves with the number of events deleted.
   */
  trim(policy: TrimPolicy): Promise<number>;
  /** Resolves when the store can be reached now, rejects with the reason otherwise. */
  ping(): Promise<void>;
}

/** Injection token of the {@link EventStore} in use. */
export const EVENT_STORE = Symbol('EVENT_STORE');
