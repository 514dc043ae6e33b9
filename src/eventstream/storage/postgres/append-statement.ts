import { createHash } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import type { AppendedEvent, NewEvent } from '../event-store.interface';
import { quoteIdentifier } from './sql-identifiers';
import { COMMIT_PREFIX, HEAD_PREFIX, notifyChannel } from './notify-channel';

/**
 * An event's created_at is its channel's `last_at`, set as the counter row is
 * bumped: after its lock is taken, so after the previous append on the
 * channel committed, and never below that append's stamp whatever the
 * clocks do. Within a channel created_at then never goes back as seqs go up,
 * which dropping whole partitions by age relies on (no hole in what is kept).
 */
const STAMP = 'last_at = greatest(clock_timestamp(), c.last_at)';

/**
 * Prepared statements are per connection and by name: the name follows the
 * text, so stores of different schemas can share a pool.
 */
export function preparedName(prefix: string, text: string): string {
  return `${prefix}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** A pool, or one connection (for example inside a transaction of the app's). */
export type Queryable = Pick<Pool, 'query'> | Pick<ClientBase, 'query'>;

/** What an append NOTIFYs on commit: the heads, and a marker if given. */
export interface Notify {
  readonly commitMarker?: string;
}

export interface BumpedChannel {
  name: string;
  /** int8: a string through `pg`, a bigint through Prisma. */
  last_seq: string | bigint;
  created_at: Date;
}

/**
 * The one statement that appends events, as its own transaction or as part
 * of one: it bumps each channel's counter row (`INSERT … ON CONFLICT DO
 * UPDATE`, which holds the row's lock until commit) and inserts the events
 * under the seqs it drew. A second writer on the channel waits for that
 * lock, so it can only draw a higher seq after the first has committed:
 * commit order is seq order, with no gaps, across any number of pools and
 * processes. Counter rows are taken in channel-name order, so multi-channel
 * batches cannot deadlock.
 *
 * In an app's transaction it also NOTIFYs each channel's new head (and the
 * commit marker), which Postgres delivers only if that transaction commits.
 * Its own appends do not: a transaction that NOTIFYs takes a database-wide
 * lock from its commit until its WAL is flushed, so such commits go one at a
 * time, however many channels they touch. Those heads are announced once
 * the append has returned ({@link ChangeFeed.announceHeads}).
 *
 * It runs through `pg` directly, as a named prepared statement: parsed and
 * planned once per connection, with none of an ORM's per-query work.
 */
export class AppendStatement {
  /** The statement, for clients that cannot take a prepared one. */
  readonly text: string;
  private readonly name: string;
  private readonly notifyChannel: string;
  /** The same for one event, without the set work: the common lone send. */
  private readonly single: { readonly name: string; readonly text: string };
  /** The same for events of many channels, appending only on those not locked by anyone. */
  private readonly unlocked: { readonly name: string; readonly text: string };

  constructor(schema: string) {
    const quoted = quoteIdentifier(schema);
    this.notifyChannel = notifyChannel(schema);
    // Events of any channels: `bump` (CTEs ending in `bumped`) adds each
    // channel's count to its counter row, and its events take the seqs just
    // below its new last_seq, in the order given.
    const append = (bump: string) => `
      WITH input AS (
        SELECT channel, type, data, ord
        FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(channel, type, data, ord)
      ), counts AS (
        SELECT channel, count(*) AS n FROM input GROUP BY channel
      ), ${bump}, inserted AS (
        INSERT INTO ${quoted}."events" (channel, seq, type, data, created_at)
        SELECT i.channel,
               b.last_seq - n.n + row_number() OVER (PARTITION BY i.channel ORDER BY i.ord),
               i.type, i.data::json, b.last_at
        FROM input i JOIN bumped b ON b.name = i.channel JOIN counts n ON n.channel = i.channel
      )`;
    this.text = `${append(`bumped AS (
        INSERT INTO ${quoted}."channels" AS c (name, last_seq, last_at)
        SELECT channel, n, clock_timestamp() FROM counts ORDER BY channel
        ON CONFLICT (name) DO UPDATE SET last_seq = c.last_seq + EXCLUDED.last_seq, ${STAMP}
        RETURNING c.name, c.last_seq, c.last_at
      )`)}, marked AS (
        SELECT pg_notify($4, '${COMMIT_PREFIX}' || $5::text) FROM (SELECT 1) one
        WHERE $5::text IS NOT NULL
      )
      SELECT b.name, b.last_seq, b.last_at AS created_at,
             (CASE WHEN $6::boolean
               THEN pg_notify($4, '${HEAD_PREFIX}' || b.last_seq || ' ' || b.name)
             END) IS NULL AS notified,
             (SELECT count(*) FROM marked) AS marked
      FROM bumped b`;
    this.name = preparedName('eventstream_append', this.text);
    const single = `
      WITH bumped AS (
        INSERT INTO ${quoted}."channels" AS c (name, last_seq, last_at)
        VALUES ($1::text, 1, clock_timestamp())
        ON CONFLICT (name) DO UPDATE SET last_seq = c.last_seq + 1, ${STAMP}
        RETURNING c.name, c.last_seq, c.last_at
      ), inserted AS (
        INSERT INTO ${quoted}."events" (channel, seq, type, data, created_at)
        SELECT name, last_seq, $2::text, $3::text::json, last_at FROM bumped
      )
      SELECT b.name, b.last_seq, b.last_at AS created_at FROM bumped b`;
    this.single = { name: preparedName('eventstream_append1', single), text: single };
    // SKIP LOCKED never waits, so a batch of sends on many channels cannot be
    // held up by one channel's lock, nor deadlock. A channel with no counter
    // row yet is skipped too: creating the row could wait on another
    // transaction creating it.
    const unlocked = `${append(`locked AS (
        SELECT c.name FROM ${quoted}."channels" c
        WHERE c.name IN (SELECT channel FROM counts)
        ORDER BY c.name
        FOR UPDATE SKIP LOCKED
      ), bumped AS (
        UPDATE ${quoted}."channels" AS c SET last_seq = c.last_seq + n.n, ${STAMP}
        FROM counts n
        WHERE c.name = n.channel AND c.name IN (SELECT name FROM locked)
        RETURNING c.name, c.last_seq, c.last_at
      )`)}
      SELECT b.name, b.last_seq, b.last_at AS created_at FROM bumped b`;
    this.unlocked = { name: preparedName('eventstream_append_unlocked', unlocked), text: unlocked };
  }

  /**
   * Its parameters for `events`. With `notify`, the heads (and the commit
   * marker, if any) are NOTIFYed when the transaction commits.
   */
  values(events: readonly NewEvent[], notify: Notify | false): unknown[] {
    return [
      events.map((e) => e.channel),
      events.map((e) => e.type),
      events.map((e) => e.json),
      this.notifyChannel,
      notify ? (notify.commitMarker ?? null) : null,
      notify !== false,
    ];
  }

  /** Appends `events` (at least one) through `client`; their seqs, in the order given. */
  async run(
    client: Queryable,
    events: readonly NewEvent[],
    notify: Notify | false = false,
  ): Promise<AppendedEvent[]> {
    const [first] = events;
    const { rows } = await client.query<BumpedChannel>(
      events.length === 1 && !notify
        ? { ...this.single, values: [first.channel, first.type, first.json] }
        : { name: this.name, text: this.text, values: this.values(events, notify) },
    );
    return this.toAppended(events, rows);
  }

  /**
   * Appends the events of every channel of `events` that no one holds a lock
   * on, in one transaction; the others are left for the caller to append
   * another way. Resolves with the channels appended to and where each of
   * their events landed, in the order given.
   */
  async runOnUnlocked(
    client: Queryable,
    events: readonly NewEvent[],
  ): Promise<{ appended: AppendedEvent[]; channels: Set<string> }> {
    const { rows } = await client.query<BumpedChannel>({
      ...this.unlocked,
      values: this.values(events, false).slice(0, 3),
    });
    const channels = new Set(rows.map((row) => row.name));
    const taken = events.filter((event) => channels.has(event.channel));
    return { appended: taken.length > 0 ? this.toAppended(taken, rows) : [], channels };
  }

  /** Where each event landed, from the statement's rows. */
  toAppended(events: readonly NewEvent[], rows: readonly BumpedChannel[]): AppendedEvent[] {
    // Each channel's new events hold the seqs just below its new last_seq, in
    // the order they were given.
    const counts = new Map<string, number>();
    for (const { channel } of events) counts.set(channel, (counts.get(channel) ?? 0) + 1);
    const next = new Map<string, number>();
    for (const row of rows) {
      next.set(row.name, Number(row.last_seq) - (counts.get(row.name) ?? 0) + 1);
    }
    const createdAt = new Map(rows.map((row) => [row.name, row.created_at]));
    return events.map(({ channel }) => {
      const seq = next.get(channel) as number;
      next.set(channel, seq + 1);
      return { channel, seq, createdAt: createdAt.get(channel) as Date };
    });
  }
}
