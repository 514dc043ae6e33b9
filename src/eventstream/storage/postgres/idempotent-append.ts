import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { IdempotencyKeyReusedError } from '../../errors/eventstream.errors';
import type {
  AppendOnceResult,
  AppendedEvent,
  IdempotencyKey,
  NewEvent,
} from '../event-store.interface';
import type { SqlRunner } from '../transaction';
import { quoteIdentifier } from './sql-identifiers';

interface KeyRow {
  fingerprint: string;
  /** As text, whichever client read it (`pg` parses jsonb, Prisma too, differently). */
  result: string | null;
}

interface StoredPlace {
  channel: string;
  seq: number;
  createdAt: string;
}

// A key row that vanishes between the claim and the read (trimmed as it
// expired) is claimed again; twice in a row would take a window of a few
// milliseconds and a trim landing in it each time.
const ATTEMPTS = 3;

/** What makes two sends "the same": every event's channel, type and data, in order. */
export function fingerprintOf(events: readonly NewEvent[]): string {
  const canonical = JSON.stringify(events.map(({ channel, type, json }) => [channel, type, json]));
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Appends under an idempotency key, in one transaction with the key's row.
 *
 * The key row is claimed first (`INSERT … ON CONFLICT DO UPDATE … WHERE
 * expired`): a second send of a key whose first send has not committed yet,
 * on any connection or instance, waits on that uncommitted row; once the
 * first commits, Postgres checks the condition against the committed row, so
 * the claim takes nothing and the second reads the first's result; if the
 * first rolls back, the claim goes through and the second stores the events.
 * An expired row is taken over by the claim, so a key never counts past its
 * window, trimmed or not. The events and the key's result are written after
 * the claim, in the same transaction: a key exists if and only if its events
 * do, which is what makes retrying a send whose outcome is unknown safe.
 */
export class IdempotentAppend {
  private readonly claimSql: string;
  private readonly readSql: string;
  private readonly saveSql: string;
  /** Deletes up to $2 keys older than $1 milliseconds. */
  readonly trimSql: string;

  constructor(schema: string) {
    const keys = `${quoteIdentifier(schema)}."idempotency_keys"`;
    const expired = (alias: string) =>
      `${alias}.created_at <= now() - $3::float8 * interval '1 millisecond'`;
    this.claimSql = `
      INSERT INTO ${keys} AS k (key, fingerprint) VALUES ($1::text, $2::text)
      ON CONFLICT (key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, result = NULL, created_at = EXCLUDED.created_at
        WHERE ${expired('k')}
      RETURNING true AS claimed`;
    this.readSql = `SELECT fingerprint, result::text AS result FROM ${keys} WHERE key = $1::text`;
    this.saveSql = `UPDATE ${keys} SET result = $2::jsonb WHERE key = $1::text`;
    this.trimSql = `
      DELETE FROM ${keys} WHERE key IN (
        SELECT key FROM ${keys}
        WHERE created_at <= now() - $1::float8 * interval '1 millisecond' LIMIT $2
      )`;
  }

  /**
   * In a transaction of its own, on a connection of `pool`: a lone send that
   * claims its key takes nothing from sends grouped on other connections.
   */
  async alone(
    pool: Pool,
    events: readonly NewEvent[],
    key: IdempotencyKey,
    append: (client: PoolClient) => Promise<AppendedEvent[]>,
  ): Promise<AppendOnceResult> {
    const client = await pool.connect();
    let broken: Error | undefined;
    // A checked-out client that loses its connection emits 'error' besides
    // failing its query; unheard, that would end the process. The query's
    // failure is what reports it.
    const onLost = (error: Error) => (broken = error);
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const run: SqlRunner = async <T>(sql: string, values: readonly unknown[]) =>
        (await client.query(sql, [...values])).rows as T[];
      const result = await this.inTransaction(run, events, key, () => append(client));
      // A replay wrote nothing; the same COMMIT ends both.
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A connection that failed mid-transaction is not trusted again.
      client.release(broken);
      client.off('error', onLost);
    }
  }

  /** Through `run`, inside a transaction that the caller ends. */
  async inTransaction(
    run: SqlRunner,
    events: readonly NewEvent[],
    key: IdempotencyKey,
    append: () => Promise<AppendedEvent[]>,
  ): Promise<AppendOnceResult> {
    const fingerprint = fingerprintOf(events);
    for (let attempt = 1; ; attempt++) {
      const claimed = await run(this.claimSql, [key.key, fingerprint, key.windowMs]);
      if (claimed.length > 0) {
        const appended = await append();
        const places: StoredPlace[] = appended.map(({ channel, seq, createdAt }) => ({
          channel,
          seq,
          createdAt: createdAt.toISOString(),
        }));
        await run(this.saveSql, [key.key, JSON.stringify(places)]);
        return { appended, replayed: false };
      }
      // A new statement, so a new snapshot: it sees the row the claim waited for.
      const [row] = await run<KeyRow>(this.readSql, [key.key]);
      if (row?.result != null) {
        if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError(key.key);
        const places = JSON.parse(row.result) as StoredPlace[];
        const appended = places.map(({ channel, seq, createdAt }) => ({
          channel,
          seq,
          createdAt: new Date(createdAt),
        }));
        return { appended, replayed: true };
      }
      if (attempt === ATTEMPTS) {
        throw new Error(`idempotency key ${JSON.stringify(key.key)} could not be claimed or read`);
      }
    }
  }
}
