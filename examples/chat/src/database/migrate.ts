import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

/** The committed migrations, the ones `prisma migrate deploy` would apply. */
export const MIGRATIONS_DIR = join(
  import.meta.dirname,
  '..',
  '..',
  'prisma',
  'migrations',
);

/**
 * Applies the app's migrations that are not applied yet, each in its own
 * transaction, and records them in `chat_migrations`.
 *
 * Why not Prisma: `prisma migrate deploy` needs a schema engine that Prisma's
 * CLI downloads, which offline machines and some CI cannot; the SQL files are
 * the same, so either way gives the same tables. An advisory lock makes
 * instances starting together apply them once.
 */
export async function applyMigrations(
  databaseUrl: string,
  dir = MIGRATIONS_DIR,
): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('chat-migrations'))");
    await client.query(
      'CREATE TABLE IF NOT EXISTS chat_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (
        await client.query<{ name: string }>('SELECT name FROM chat_migrations')
      ).rows.map((row) => row.name),
    );
    const names = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort(); // Prisma's names start with a timestamp: sorted is applied order
    const applied: string[] = [];
    for (const name of names.filter((n) => !done.has(n))) {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO chat_migrations (name) VALUES ($1)', [
          name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${name} failed`, { cause: error });
      }
      applied.push(name);
    }
    return applied;
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end();
  }
}
