import { applyMigrations } from '../../src/eventstream/storage/postgres/migrator';
import { readMigrationFiles } from '../../src/eventstream/storage/postgres/migration-files';
import { withClient } from './postgres';

/** The migration that partitions the events table. */
export const PARTITIONING_MIGRATION = '20261209000001_partitioned_events';

/**
 * Migrates `url`'s `schema` with the events table left unpartitioned, as a
 * deployment that marked the partitioning migration applied without running
 * it (`prisma migrate resolve --applied`) has it.
 */
export async function migrateUnpartitioned(url: string, schema = 'eventstream'): Promise<void> {
  const migrations = readMigrationFiles().map((migration) =>
    migration.name === PARTITIONING_MIGRATION ? { ...migration, sql: 'SELECT 1' } : migration,
  );
  await withClient(url, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await applyMigrations(client, { schema, migrations });
  });
}
