import { type CustomTypesConfig, type Pool, types } from 'pg';
import type {
  AppendOnceResult,
  AppendOptions,
  AppendedEvent,
  IdempotencyKey,
  EventStore,
  LatestEvents,
  NewEvent,
  ReadResult,
  StoredEvent,
  TrimPolicy,
} from '../event-store.interface';
import { quoteIdentifier } from './sql-identifiers';
import { toStoreError } from '../store-errors';
import type { EventDatabase } from './event-database';
import { transactionRunner } from '../transaction';
import { AppendStatement, type BumpedChannel, preparedName } from './append-statement';
import { ChannelBatches } from './channel-batches';
import { GroupCommit } from './group-commit';
import { IdempotentAppend } from './idempotent-append';
import type { ReadObserver } from '../read-source';

const TRIM_BATCH = 5_000;

const TIMESTAMPTZ: number = types.builtins.TIMESTAMPTZ;
const parseTimestamp = types.getTypeParser(TIMESTAMPTZ) as (text: string) => Date;
const keepText = (text: string) => text;

/**
 * Reads keep `created_at` as Postgres wrote it: streams never look at it,
 * and parsing it (`pg` runs a regular expression and builds a Date per row)
 * was the largest single item in the Node profile of a replay, about 1 ms of
 * a 1,000-event page.
 */
const TIMESTAMPS_AS_TEXT: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === TIMESTAMPTZ && format !== 'binary'
      ? keepText
      : types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

interface ReadRow {
  /** int8 columns: strings through `pg`. */
  head: string | null;
  seq: string | null;
  type: string | null;
  data: string | null;
  /** As text: {@link TIMESTAMPS_AS_TEXT}. */
  created_at: string | null;
}

/** A stored event as read; its `createdAt` is parsed when first asked for. */
class ReadEvent implements StoredEvent {
  #createdAt: Date | string;

  constructor(
    readonly channel: string,
    readonly seq: number,
    readonly type: string,
    readonly json: string,
    createdAt: string,
  ) {
    this.#createdAt = createdAt;
  }

  get createdAt(): Date {
    if (typeof this.#createdAt === 'string') this.#createdAt = parseTimestamp(this.#createdAt);
    return this.#createdAt;
  }

  toJSON(): StoredEvent {
    const { channel, seq, type, json, createdAt } = this;
    return { channel, seq, type, json, createdAt };
  }
}

function toStoredEvent(channel: string, row: ReadRow): StoredEvent {
  return new ReadEvent(
    channel,
    Number(row.seq),
    row.type as string,
    row.data as string,
    row.created_at as string,
  );
}

/**
 * The default {@link EventStore}: Postgres, through `pg`, reads and appends
 * as prepared statements (appends in an app's transaction through its
 * client, `pg` or Prisma). The library loads no Prisma client of its own:
 * Prisma's first query would load its WebAssembly query compiler, about
 * 70 MiB of RSS that a process never gives back.
 *
 * Appends are one statement ({@link AppendStatement}), so one round trip and
 * one implicit transaction; concurrent appends share one
 * ({@link GroupCommit}).
 */
export class PostgresEventStore implements EventStore {
  private readonly appendStatement: AppendStatement;
  private readonly idempotent: IdempotentAppend;
  /** One queue per set of channels, so a lock held on one never holds up another. */
  private readonly groups = new Map<string, GroupCommit>();
  /** Sends of one channel each, grouped across channels. */
  private readonly batches: ChannelBatches;
  /** The last keyed send of each key in flight on this instance: the next one waits for it. */
  private readonly keysInFlight = new Map<string, Promise<unknown>>();
  private readonly readSql: string;
  private readonly readName: string;
  private readonly readLatestSql: string;
  private readonly readLatestName: string;
  private readonly headsSql: string;
  private readonly headsName: string;
  private readonly trimByCountSql: string;
  private readonly trimByAgeSql: string;

  /**
   * `observeRead` hears where each page read was answered (metrics count
   * reads by source with it).
   */
  constructor(
    private readonly database: EventDatabase,
    private readonly observeRead: ReadObserver = () => undefined,
  ) {
    const schema = quoteIdentifier(database.schema);
    const channels = `${schema}."channels"`;
    const events = `${schema}."events"`;
    this.appendStatement = new AppendStatement(database.schema);
    this.batches = new ChannelBatches({
      onUnlocked: (events) => this.appendStatement.runOnUnlocked(database.pool, events),
      onChannel: (events) => this.groupFor(events).append(events),
    });
    this.idempotent = new IdempotentAppend(database.schema);
    // One statement, so one snapshot: the channel's head beside a page of its events.
    const page = (condition: string, order: 'ASC' | 'DESC', rows: (limited: string) => string) => `
      SELECT c.last_seq AS head, e.seq, e.type, e.data, e.created_at
      FROM (SELECT $1::text AS name) wanted
      LEFT JOIN ${channels} c ON c.name = wanted.name
      LEFT JOIN LATERAL (${rows(`
        SELECT seq, type, data::text AS data, created_at FROM ${events}
        WHERE channel = wanted.name AND ${condition}
        ORDER BY seq ${order} LIMIT $3::int`)}
      ) e ON true
      ORDER BY e.seq`;
    // Rows up to the one that takes the page's data past $4 bytes.
    const byteCapped = (limited: string) => `
        SELECT seq, type, data, created_at FROM (
          SELECT *, sum(octet_length(data)) OVER (ORDER BY seq) - octet_length(data) AS before
          FROM (${limited}) limited
        ) sized WHERE before < $4::bigint`;
    this.readSql = page('seq > $2::bigint', 'ASC', byteCapped);
    this.readName = preparedName('eventstream_read', this.readSql);
    this.readLatestSql = page(
      'seq < COALESCE($2::bigint, 9223372036854775807)',
      'DESC',
      (limited) => limited,
    );
    this.readLatestName = preparedName('eventstream_read_latest', this.readLatestSql);
    this.headsSql = `SELECT name, last_seq FROM ${channels} WHERE name = ANY($1::text[])`;
    this.headsName = preparedName('eventstream_heads', this.headsSql);
    // Both trims delete a prefix of each channel (seq <= bound), so what is
    // kept is always a contiguous range, and neither touches counter rows, so
    // writers are never blocked by a trim.
    this.trimByCountSql = `
      WITH doomed AS (
        SELECT e.channel, e.seq
        FROM ${channels} c
        CROSS JOIN LATERAL (
          SELECT channel, seq FROM ${events}
          WHERE channel = c.name AND seq <= c.last_seq - $1
          ORDER BY seq LIMIT $2
        ) e
        LIMIT $2
      )
      DELETE FROM ${events} e USING doomed d WHERE e.channel = d.channel AND e.seq = d.seq`;
    this.trimByAgeSql = `
      WITH bound AS (
        SELECT channel, max(seq) AS upto FROM ${events} WHERE created_at < $1 GROUP BY channel
      ), doomed AS (
        SELECT e.channel, e.seq
        FROM bound b
        CROSS JOIN LATERAL (
          SELECT channel, seq FROM ${events}
          WHERE channel = b.channel AND seq <= b.upto
          ORDER BY seq LIMIT $2
        ) e
        LIMIT $2
      )
      DELETE FROM ${events} e USING doomed d WHERE e.channel = d.channel AND e.seq = d.seq`;
  }

  async append(events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendedEvent[]> {
    if (events.length === 0) return [];
    const statement = this.appendStatement;
    try {
      const { transaction, commitMarker } = options;
      if (!transaction) {
        return await this.withPartition(() =>
          // A marker is for one caller's commit only: such an append goes alone.
          commitMarker !== undefined
            ? statement.run(this.database.pool, events, { commitMarker })
            : oneChannel(events)
              ? this.batches.append(events)
              : this.groupFor(events).append(events),
        );
      }
      // In the app's transaction, through its own client: not prepared,
      // since that client may be Prisma's. Only Postgres knows when it
      // commits, so it announces the heads then.
      const rows = await transactionRunner(transaction)<BumpedChannel>(
        statement.text,
        statement.values(events, { commitMarker }),
      );
      return statement.toAppended(events, rows);
    } catch (error) {
      throw toStoreError('append events', error);
    }
  }

  /**
   * Runs `append` again, once, after creating partitions, if it found none
   * for its time: partitions are made well ahead, so this is only after
   * every instance was stopped for long, or the database's clock jumped.
   */
  private async withPartition<T>(append: () => Promise<T>): Promise<T> {
    try {
      return await append();
    } catch (error) {
      const { partitions } = this.database;
      if (!partitions || !isNoPartitionError(error)) throw error;
      await partitions.createAhead();
      return append();
    }
  }

  /**
   * Keyed sends never join a group. Their claim may wait on another
   * instance's uncommitted send of the key, which must not hold up the
   * group's other callers; and each keyed send ends its own way (stored, or
   * replayed from the key), which one shared statement could not do.
   */
  async appendOnce(
    events: readonly NewEvent[],
    key: IdempotencyKey,
    options: AppendOptions = {},
  ): Promise<AppendOnceResult> {
    if (events.length === 0) return { appended: [], replayed: false };
    const statement = this.appendStatement;
    try {
      const { transaction, commitMarker } = options;
      if (!transaction) {
        // A claim that failed for want of a partition was rolled back with
        // the append: the retry claims afresh.
        return await this.oneAtATime(key.key, () =>
          this.withPartition(() =>
            this.idempotent.alone(this.database.pool, events, key, (client) =>
              statement.run(client, events, commitMarker === undefined ? false : { commitMarker }),
            ),
          ),
        );
      }
      const run = transactionRunner(transaction);
      return await this.idempotent.inTransaction(run, events, key, async () =>
        statement.toAppended(
          events,
          await run<BumpedChannel>(statement.text, statement.values(events, { commitMarker })),
        ),
      );
    } catch (error) {
      throw toStoreError('append events', error);
    }
  }

  /**
   * Sends of one key on this instance go one after another. Each would
   * otherwise hold a pooled connection while it waits on the first's
   * uncommitted key row, and a burst of retries could take the whole pool
   * from other sends; waiting here costs no connection, and the database
   * still orders them against other instances.
   */
  private async oneAtATime<T>(key: string, send: () => Promise<T>): Promise<T> {
    const previous = this.keysInFlight.get(key);
    const mine = (previous ?? Promise.resolve()).then(send, send);
    this.keysInFlight.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.keysInFlight.get(key) === mine) this.keysInFlight.delete(key);
    }
  }

  /**
   * Sends group only with sends on the same channels: a group then takes
   * exactly the counter-row locks each of its sends would take alone, so an
   * app transaction holding one channel's lock delays only sends on that
   * channel, and grouping adds no lock order that could deadlock.
   */
  private groupFor(events: readonly NewEvent[]): GroupCommit {
    const key = [...new Set(events.map((event) => event.channel))].sort().join('\n');
    let group = this.groups.get(key);
    if (!group) {
      const created = new GroupCommit(
        (batch) => this.appendStatement.run(this.database.pool, batch),
        () => this.groups.delete(key),
      );
      this.groups.set(key, created);
      group = created;
    }
    return group;
  }

  async read(
    channel: string,
    afterSeq: number | undefined,
    limit: number,
    maxBytes = Number.MAX_SAFE_INTEGER,
    minHeadSeq?: number,
  ): Promise<ReadResult> {
    let rows: ReadRow[];
    try {
      // One statement, so one snapshot: the head and the events agree, and
      // a stream catching up (or a proxy's next-link call) costs one query.
      // Through `pg` as a prepared statement, like appends: a stream
      // catching up runs this once per page.
      rows = await this.routed(
        (pool) =>
          pool.query<ReadRow>({
            name: this.readName,
            text: this.readSql,
            values: [channel, afterSeq ?? 0, limit, maxBytes],
            types: TIMESTAMPS_AS_TEXT,
          }),
        // Below afterSeq the replica would call the position ahead of a head it has not reached.
        minHeadSeq === undefined ? undefined : Math.max(minHeadSeq, afterSeq ?? 0),
      );
    } catch (error) {
      throw toStoreError(`read channel ${JSON.stringify(channel)}`, error);
    }
    const headSeq = headOf(rows);
    if (afterSeq !== undefined && afterSeq > headSeq) return { status: 'ahead', headSeq };
    const events = rows.filter((row) => row.seq !== null).map((row) => toStoredEvent(channel, row));
    if (afterSeq !== undefined) {
      // Kept events are a contiguous range ending at the head: a first event
      // past afterSeq + 1, or none at all below the head, means trimmed.
      const firstSeq = events[0]?.seq ?? headSeq + 1;
      if (firstSeq > afterSeq + 1) return { status: 'too-old', oldestSeq: firstSeq, headSeq };
    }
    return { status: 'events', events, headSeq };
  }

  async readLatest(
    channel: string,
    beforeSeq: number | undefined,
    limit: number,
    minHeadSeq?: number,
  ): Promise<LatestEvents> {
    let rows: ReadRow[];
    try {
      // One more than asked tells whether older events are kept.
      rows = await this.routed(
        (pool) =>
          pool.query<ReadRow>({
            name: this.readLatestName,
            text: this.readLatestSql,
            values: [channel, beforeSeq ?? null, limit + 1],
            types: TIMESTAMPS_AS_TEXT,
          }),
        minHeadSeq,
      );
    } catch (error) {
      throw toStoreError(`read channel ${JSON.stringify(channel)}`, error);
    }
    const headSeq = headOf(rows);
    const events = rows.filter((row) => row.seq !== null).map((row) => toStoredEvent(channel, row));
    const hasOlder = events.length > limit;
    return { events: hasOlder ? events.slice(1) : events, headSeq, hasOlder };
  }

  /**
   * A page from a replica whose head for the channel has reached `minHeadSeq`,
   * else from the primary. Seqs are gapless and commit in order, and a
   * replica replays the primary's commits in order, so a replica that has
   * seen the channel's seq n holds every event up to n the primary holds
   * (and, until it replays a trim, perhaps older ones too).
   */
  private async routed(
    query: (pool: Pool) => Promise<{ rows: ReadRow[] }>,
    minHeadSeq: number | undefined,
  ): Promise<ReadRow[]> {
    const { pool, replicas } = this.database;
    if (replicas.size === 0 || minHeadSeq === undefined) {
      this.observeRead({
        source: 'primary',
        reason: replicas.size === 0 ? 'no-replicas' : 'no-head',
      });
      return (await query(pool)).rows;
    }
    const answer = await replicas.read(
      query,
      ({ rows }) => headOf(rows) >= minHeadSeq,
      pool,
      this.observeRead,
    );
    return answer.rows;
  }

  async headSeqs(channels: readonly string[]): Promise<Map<string, number>> {
    try {
      // Every direct stream runs this as it opens: a prepared statement.
      const { rows } = await this.database.pool.query<{ name: string; last_seq: string }>({
        name: this.headsName,
        text: this.headsSql,
        values: [channels],
      });
      const found = new Map(rows.map((row) => [row.name, Number(row.last_seq)]));
      return new Map(channels.map((channel) => [channel, found.get(channel) ?? 0]));
    } catch (error) {
      throw toStoreError('read current ids', error);
    }
  }

  async trim(policy: TrimPolicy): Promise<number> {
    let deleted = 0;
    try {
      if (policy.maxEventsPerChannel !== null) {
        deleted += await this.deleteInBatches(this.trimByCountSql, policy.maxEventsPerChannel);
      }
      const { partitions } = this.database;
      if (partitions) {
        // Whole partitions past the age limit go, with no row deleted one by one.
        deleted += await partitions.maintain(policy.maxAgeMs);
      } else if (policy.maxAgeMs !== null) {
        deleted += await this.deleteInBatches(
          this.trimByAgeSql,
          new Date(Date.now() - policy.maxAgeMs),
        );
      }
      // Keys are not events: they count for nothing in what trim reports.
      await this.deleteInBatches(this.idempotent.trimSql, policy.idempotencyWindowMs);
    } catch (error) {
      throw toStoreError('trim old events', error);
    }
    return deleted;
  }

  async ping(): Promise<void> {
    try {
      await this.database.pool.query('SELECT 1');
    } catch (error) {
      throw toStoreError('reach the database', error);
    }
  }

  // Small batches keep each delete's transaction, and its row locks, short.
  private async deleteInBatches(sql: string, bound: number | Date): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = (await this.database.pool.query(sql, [bound, TRIM_BATCH])).rowCount ?? 0;
      total += deleted;
      if (deleted < TRIM_BATCH) return total;
    }
  }
}

/** The channel's head a page carries on each row (0 when the channel has none). */
function headOf(rows: readonly ReadRow[]): number {
  const head = rows[0]?.head;
  return head === null || head === undefined ? 0 : Number(head);
}

/** What Postgres answers a row whose created_at no partition covers. */
function isNoPartitionError(error: unknown): boolean {
  return (
    (error as { code?: string }).code === '23514' &&
    /no partition of relation/.test((error as Error).message)
  );
}

function oneChannel(events: readonly NewEvent[]): boolean {
  const [{ channel }] = events;
  return events.every((event) => event.channel === channel);
}
