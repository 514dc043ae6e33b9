import type { Pool, PoolClient } from 'pg';
import { quoteIdentifier } from './sql-identifiers';

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** Partitions made ahead of the clock, so sends never wait for one to be created. */
const AHEAD = 3;

/**
 * How long each partition covers: an eighth of the age limit, so that an
 * event is dropped at most an eighth later than `maxAgeMs` says and about
 * eleven partitions exist; a day without an age limit. Between 1 s and a day.
 */
export function partitionIntervalMs(maxAgeMs: number | null): number {
  if (maxAgeMs === null) return DAY_MS;
  return Math.min(DAY_MS, Math.max(SECOND_MS, Math.floor(maxAgeMs / 8)));
}

interface PartitionRow {
  name: string;
  /** Epoch milliseconds as int8 text; null for the old events' partition (from MINVALUE). */
  lower_ms: string | null;
  upper_ms: string;
  /** A concurrent detach that did not finish. */
  pending: boolean;
  /** Postgres's own count of the partition's live rows. */
  live: string;
}

interface Partition {
  readonly name: string;
  readonly lowerMs: number | null;
  readonly upperMs: number;
  readonly pending: boolean;
  readonly live: number;
}

/**
 * The partitions of a partitioned events table (range of `created_at`):
 * creates them ahead of the clock and drops those past the age limit, and
 * those left empty, without blocking sends or reads. A partition is created
 * standalone and attached (Postgres then takes only a SHARE UPDATE EXCLUSIVE
 * lock on the table, which sends and reads do not wait for) and detached
 * CONCURRENTLY before it is dropped. Every instance runs this; an advisory
 * lock lets one at a time work, and the others skip their turn.
 */
export class EventPartitions {
  private readonly events: string;
  private readonly lockKey: string;
  private readonly listSql: string;
  private running?: Promise<number>;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    readonly intervalMs: number,
  ) {
    this.events = `${quoteIdentifier(schema)}."events"`;
    this.lockKey = `nestjs-eventstream partitions ${schema}`;
    this.listSql = `
      SELECT c.relname AS name,
             (extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid),
               'FROM \\(''([^'']*)''\\)'))[1]::timestamptz) * 1000)::bigint AS lower_ms,
             (extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid),
               'TO \\(''([^'']*)''\\)'))[1]::timestamptz) * 1000)::bigint AS upper_ms,
             i.inhdetachpending AS pending,
             pg_stat_get_live_tuples(c.oid) AS live
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass
      ORDER BY upper_ms`;
  }

  /** Whether `schema`'s events table is partitioned: only then is there anything to maintain. */
  static async isPartitioned(pool: Pool, schema: string): Promise<boolean> {
    const { rows } = await pool.query<{ partitioned: boolean }>(
      `SELECT c.relkind = 'p' AS partitioned FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [`${quoteIdentifier(schema)}."events"`],
    );
    return rows[0]?.partitioned === true;
  }

  /** How often {@link maintain} runs for partitions of `intervalMs`, to stay well ahead of the clock. */
  static maintenancePeriodMs(intervalMs: number): number {
    return Math.min(MINUTE_MS, Math.max(SECOND_MS / 2, intervalMs / 2));
  }

  /**
   * Creates the partitions from the newest one's end to {@link AHEAD}
   * intervals past the database's clock, and drops those past `maxAgeMs`
   * (`null`: none) and those wholly in the past with no rows left.
   * Resolves with the rows dropped, as Postgres counts them. A pass already
   * running is joined rather than repeated.
   */
  maintain(maxAgeMs: number | null): Promise<number> {
    return this.exclusive(async (client) => {
      await this.createAheadOn(client);
      return this.dropOld(client, maxAgeMs);
    });
  }

  /** Only creates partitions ahead: at start-up, and when a send found none for its time. */
  async createAhead(): Promise<void> {
    await this.exclusive(async (client) => {
      await this.createAheadOn(client);
      return 0;
    });
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Runs `work` alone: one pass at a time here, and across instances under the advisory lock. */
  private async exclusive(work: (client: PoolClient) => Promise<number>): Promise<number> {
    if (this.running) return this.running;
    const running = this.locked(work).finally(() => (this.running = undefined));
    this.running = running;
    return running;
  }

  private async locked(work: (client: PoolClient) => Promise<number>): Promise<number> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
        [this.lockKey],
      );
      if (!rows[0].locked) return 0;
      try {
        return await work(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [this.lockKey]);
      }
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      // A connection that failed mid-way may still hold the session's lock: it is closed, not pooled.
      client.release(broken);
    }
  }

  private async createAheadOn(client: PoolClient): Promise<void> {
    const now = await this.databaseNow(client);
    const partitions = await this.list(client);
    const interval = this.intervalMs;
    const alignDown = (ms: number) => Math.floor(ms / interval) * interval;
    let from = partitions.at(-1)?.upperMs ?? alignDown(now);
    // After a long stop, one partition spans the gap instead of one per interval.
    if (from < alignDown(now) - interval) {
      await this.create(client, from, alignDown(now));
      from = alignDown(now);
    }
    while (from < now + AHEAD * interval) {
      const to = alignDown(from) + interval;
      await this.create(client, from, to);
      from = to;
    }
  }

  private async dropOld(client: PoolClient, maxAgeMs: number | null): Promise<number> {
    const now = await this.databaseNow(client);
    let dropped = 0;
    for (const partition of await this.list(client)) {
      // The newest partitions are never dropped: sends land there.
      if (partition.upperMs > now) break;
      const expired = maxAgeMs !== null && partition.upperMs <= now - maxAgeMs;
      if (partition.pending) {
        await client.query(
          `ALTER TABLE ${this.events} DETACH PARTITION ${this.qualified(partition.name)} FINALIZE`,
        );
      } else if (expired || (await this.isLongEmpty(client, partition, now))) {
        // Waits for the transactions that use the partition, holding up no
        // one. Cut off by the pool's query timeout, it is left pending and
        // finished (FINALIZE) on a later pass.
        await client.query(
          `ALTER TABLE ${this.events} DETACH PARTITION ${this.qualified(partition.name)} CONCURRENTLY`,
        );
      } else {
        continue;
      }
      // A transaction that appended before it could be detached may have left
      // a row in a partition taken for empty: it goes back, with its bounds.
      if (!expired && !(await this.isEmpty(client, partition))) {
        await client.query(
          `ALTER TABLE ${this.events} ATTACH PARTITION ${this.qualified(partition.name)} ${this.bounds(partition.lowerMs, partition.upperMs)}`,
        );
        continue;
      }
      await client.query(`DROP TABLE ${this.qualified(partition.name)}`);
      dropped += partition.live;
    }
    return dropped;
  }

  private async create(client: PoolClient, fromMs: number, toMs: number): Promise<void> {
    const table = this.qualified(`events_p${fromMs}`);
    // Standalone, then attached: CREATE TABLE … PARTITION OF would lock the
    // whole table against sends and reads for a moment.
    await client.query('BEGIN');
    try {
      await client.query(`CREATE TABLE ${table} (LIKE ${this.events} INCLUDING DEFAULTS)`);
      await client.query(
        `ALTER TABLE ${this.events} ATTACH PARTITION ${table} ${this.bounds(fromMs, toMs)}`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Empty, by Postgres's count and then by a look, and ended an interval ago
   * or more. Detaching hides a partition from reads at once, so an event
   * committed into it meanwhile (by a transaction that appended before the
   * partition ended and commits after it looked empty) would be missing from
   * reads until it is attached again: waiting an interval past its end makes
   * that need a transaction open that long.
   */
  private async isLongEmpty(
    client: PoolClient,
    partition: Partition,
    now: number,
  ): Promise<boolean> {
    return (
      partition.live === 0 &&
      partition.upperMs <= now - this.intervalMs &&
      (await this.isEmpty(client, partition))
    );
  }

  private async isEmpty(client: PoolClient, partition: Partition): Promise<boolean> {
    const { rows } = await client.query<{ empty: boolean }>(
      `SELECT NOT EXISTS (SELECT 1 FROM ${this.qualified(partition.name)}) AS empty`,
    );
    return rows[0].empty;
  }

  private async list(client: PoolClient): Promise<Partition[]> {
    const { rows } = await client.query<PartitionRow>(this.listSql, [this.events]);
    return rows.map((row) => ({
      name: row.name,
      lowerMs: row.lower_ms === null ? null : Number(row.lower_ms),
      upperMs: Number(row.upper_ms),
      pending: row.pending,
      live: Math.max(0, Number(row.live)),
    }));
  }

  private async databaseNow(client: PoolClient): Promise<number> {
    const { rows } = await client.query<{ now: string }>(
      'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now',
    );
    return Number(rows[0].now);
  }

  private bounds(fromMs: number | null, toMs: number): string {
    const at = (ms: number) => `'${new Date(ms).toISOString()}'`;
    return `FOR VALUES FROM (${fromMs === null ? 'MINVALUE' : at(fromMs)}) TO (${at(toMs)})`;
  }

  private qualified(name: string): string {
    return `${quoteIdentifier(this.schema)}.${quoteIdentifier(name)}`;
  }
}
