import { randomUUID } from 'node:crypto';
import type { ClientBase } from 'pg';
import { messageOf } from '../../errors/error-message';
import { MigrationError } from '../../errors/eventstream.errors';
import { quoteIdentifier } from './sql-identifiers';
import { MigrationFile, readMigrationFiles } from './migration-files';

// The key Prisma Migrate itself locks, so this migrator and `prisma migrate
// deploy` never run at the same time against one database.
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export interface MigrationOptions {
  /** Postgres schema of the library's tables and of their migration history. */
  readonly schema: string;
  /** Defaults to the migrations shipped with the package. */
  readonly migrations?: readonly MigrationFile[];
  /** How long to wait for another migrator to finish. Default 60000 ms. */
  readonly lockTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

export interface MigrationStatus {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
  /** Applied migrations whose file has changed since. */
  readonly modified: readonly string[];
  /** Migrations that started and never finished (a failed run). */
  readonly failed: readonly string[];
}

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies pending migrations to `schema`, recording each in the schema's own
 * `_prisma_migrations` table exactly as `prisma migrate deploy` would, so
 * either tool can take over from the other. Safe to run from many instances
 * at once: they queue on Prisma's advisory lock and the later ones find
 * nothing to do.
 *
 * @returns the names of the migrations this call applied.
 */
export async function applyMigrations(
  client: ClientBase,
  options: MigrationOptions,
): Promise<string[]> {
  const migrations = options.migrations ?? readMigrationFiles();
  const history = historyTable(options.schema);
  await client.query(`SET statement_timeout TO ${options.lockTimeoutMs ?? 60_000}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
  } catch (error) {
    throw new MigrationError(`Could not take the migration lock: ${messageOf(error)}`, {
      cause: error,
    });
  } finally {
    await client.query('RESET statement_timeout');
  }
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(options.schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${history} (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const status = compare(migrations, await readHistory(client, options.schema));
    if (status.failed.length > 0) {
      throw new MigrationError(
        `Migration ${status.failed.join(', ')} failed earlier in schema "${options.schema}". ` +
          'Fix the database, then mark it with `prisma migrate resolve` before retrying.',
      );
    }
    for (const name of status.modified) {
      options.log?.(`Migration ${name} was changed after it was applied; it is not run again.`);
    }
    const applied: string[] = [];
    for (const migration of migrations.filter((m) => status.pending.includes(m.name))) {
      await applyOne(client, options.schema, migration);
      options.log?.(`Applied migration ${migration.name} to schema "${options.schema}".`);
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
  }
}

/** Compares the committed migrations with what the database has recorded. */
export async function migrationStatus(
  client: ClientBase,
  options: Pick<MigrationOptions, 'schema' | 'migrations'>,
): Promise<MigrationStatus> {
  const migrations = options.migrations ?? readMigrationFiles();
  const exists = await client.query<{ table: string | null }>('SELECT to_regclass($1) AS "table"', [
    historyTable(options.schema),
  ]);
  const rows = exists.rows[0]?.table ? await readHistory(client, options.schema) : [];
  return compare(migrations, rows);
}

async function applyOne(client: ClientBase, schema: string, migration: MigrationFile) {
  const history = historyTable(schema);
  const id = randomUUID();
  await client.query(
    `INSERT INTO ${history} (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), 0)`,
    [id, migration.checksum, migration.name],
  );
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
    await client.query(migration.sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    // Left unfinished with its log, as Prisma records a failed migration.
    await client.query(`UPDATE ${history} SET logs = $2 WHERE id = $1`, [id, messageOf(error)]);
    throw new MigrationError(`Migration ${migration.name} failed: ${messageOf(error)}`, {
      cause: error,
    });
  }
  await client.query(
    `UPDATE ${history} SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
    [id],
  );
}

async function readHistory(client: ClientBase, schema: string): Promise<HistoryRow[]> {
  const result = await client.query<HistoryRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
     FROM ${historyTable(schema)} ORDER BY started_at`,
  );
  return result.rows;
}

function compare(migrations: readonly MigrationFile[], rows: HistoryRow[]): MigrationStatus {
  const live = rows.filter((row) => row.rolled_back_at === null);
  const finished = new Map(
    live.filter((row) => row.finished_at !== null).map((row) => [row.migration_name, row]),
  );
  const failed = live
    .filter((row) => row.finished_at === null && !finished.has(row.migration_name))
    .map((row) => row.migration_name);
  return {
    applied: [...finished.keys()],
    pending: migrations
      .filter((m) => !finished.has(m.name) && !failed.includes(m.name))
      .map((m) => m.name),
    modified: migrations
      .filter((m) => {
        const row = finished.get(m.name);
        return row !== undefined && row.checksum !== m.checksum;
      })
      .map((m) => m.name),
    failed,
  };
}

function historyTable(schema: string): string {
  return `${quoteIdentifier(schema)}."_prisma_migrations"`;
}
