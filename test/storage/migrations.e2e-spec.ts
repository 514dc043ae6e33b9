import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { MigrationError } from '../../src/eventstream';
import { applyMigrations, migrationStatus } from '../../src/eventstream/migrations';
import {
  MIGRATIONS_DIR,
  readMigrationFiles,
} from '../../src/eventstream/storage/postgres/migration-files';
import { startEventStream } from '../harness/event-stream-app';
import { createTestDatabase, withClient, type TestDatabase } from '../harness/postgres';

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const MIGRATION_NAMES = readMigrationFiles().map((m) => m.name);

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

describe('migrations', () => {
  const databases: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  };
  afterAll(() => Promise.all(databases.map((db) => db.drop())));

  it('applies once when many instances migrate at the same moment', async () => {
    const db = await fresh();
    const pool = new Pool({ connectionString: db.url, max: 6 });
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const client = await pool.connect();
          try {
            return await applyMigrations(client, { schema: 'eventstream' });
          } finally {
            client.release();
          }
        }),
      );
      expect(results.flat()).toEqual(MIGRATION_NAMES);
    } finally {
      await pool.end();
    }
    const history = await db.query<HistoryRow>(
      'SELECT * FROM eventstream._prisma_migrations ORDER BY started_at',
    );
    // The same record `prisma migrate deploy` writes: name, SHA-256 of the
    // file, finished, one step.
    expect(history).toHaveLength(MIGRATION_NAMES.length);
    for (const [index, row] of history.entries()) {
      const sql = readFileSync(join(MIGRATIONS_DIR, MIGRATION_NAMES[index], 'migration.sql'));
      expect(row).toMatchObject({
        migration_name: MIGRATION_NAMES[index],
        checksum: createHash('sha256').update(sql).digest('hex'),
        applied_steps_count: 1,
        logs: null,
      });
      expect(row.finished_at).toBeInstanceOf(Date);
    }
  });

  it('leaves an application that has its own Prisma schema and history untouched', async () => {
    const db = await fresh();
    // The app's own Prisma migrations in `public`, with tables named like ours.
    await db.query(`
      CREATE TABLE public._prisma_migrations (
        id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
        finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT,
        rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        applied_steps_count INTEGER NOT NULL DEFAULT 0);
      INSERT INTO public._prisma_migrations VALUES
        ('a1', 'app-checksum', now(), '20240101000000_app_init', NULL, NULL, now(), 1);
      CREATE TABLE public.events (id SERIAL PRIMARY KEY, title TEXT NOT NULL);
      CREATE TABLE public.channels (id SERIAL PRIMARY KEY, topic TEXT NOT NULL);
      INSERT INTO public.events (title) VALUES ('launch party');`);

    const stream = await startEventStream({ databaseUrl: db.url });
    try {
      await stream.events.sendEvent('news', 'posted', { n: 1 });
      expect((await stream.events.getEvents('news')).events).toHaveLength(1);
    } finally {
      await stream.close();
    }

    expect(await db.query('SELECT migration_name FROM public._prisma_migrations')).toEqual([
      { migration_name: '20240101000000_app_init' },
    ]);
    expect(await db.query('SELECT id, title FROM public.events')).toEqual([
      { id: 1, title: 'launch party' },
    ]);
    expect(await db.query('SELECT count(*)::int AS n FROM public.channels')).toEqual([{ n: 0 }]);
    const ours = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'eventstream'
       ORDER BY table_name`,
    );
    const names = ours.map((t) => t.table_name);
    // The events table's partitions, made ahead by the library.
    const partitions = names.filter((name) => /^events_p\d+$/.test(name));
    expect(partitions.length).toBeGreaterThan(0);
    expect(names.filter((name) => !partitions.includes(name))).toEqual([
      '_prisma_migrations',
      'channels',
      'events',
      'idempotency_keys',
      'presence_announced',
      'presence_instances',
      'presence_streams',
    ]);
  });

  it('uses the configured schema for tables, history and queries', async () => {
    const db = await fresh();
    const stream = await startEventStream({ databaseUrl: db.url, schema: 'es_custom' });
    try {
      await stream.events.sendEvent('c', 't', 1);
      const keyed = await stream.events.sendEvent('c', 't', 2, { idempotencyKey: 'k' });
      expect(await stream.events.sendEvent('c', 't', 2, { idempotencyKey: 'k' })).toEqual(keyed);
    } finally {
      await stream.close();
    }
    expect(await db.query('SELECT channel, seq::int FROM es_custom.events')).toEqual([
      { channel: 'c', seq: 1 },
      { channel: 'c', seq: 2 },
    ]);
    expect(await db.query('SELECT key FROM es_custom.idempotency_keys')).toEqual([{ key: 'k' }]);
    expect(await db.query(`SELECT to_regclass('eventstream.events') AS t`)).toEqual([{ t: null }]);
    expect(await db.query('SELECT count(*)::int AS n FROM es_custom._prisma_migrations')).toEqual([
      { n: MIGRATION_NAMES.length },
    ]);
  });

  it('refuses to start without migrations when it may not apply them', async () => {
    const db = await fresh();
    await expect(startEventStream({ databaseUrl: db.url, migrate: false })).rejects.toThrow(
      /lacks migrations .*npx nestjs-eventstream migrate/s,
    );
  });

  it('records a failed migration and refuses to go on until it is resolved', async () => {
    const db = await fresh();
    const broken = [
      { name: '20990101000000_broken', sql: 'CREATE TABLE nope (;', checksum: 'x'.repeat(64) },
    ];
    await withClient(db.url, async (client) => {
      await expect(
        applyMigrations(client, { schema: 'eventstream', migrations: broken }),
      ).rejects.toThrow(/20990101000000_broken failed: syntax error/);
      await expect(
        applyMigrations(client, { schema: 'eventstream', migrations: broken }),
      ).rejects.toThrow(MigrationError);
      expect(await migrationStatus(client, { schema: 'eventstream', migrations: broken })).toEqual({
        applied: [],
        pending: [],
        modified: [],
        failed: ['20990101000000_broken'],
      });
    });
    const [row] = await db.query<HistoryRow>('SELECT * FROM eventstream._prisma_migrations');
    expect(row.finished_at).toBeNull();
    expect(row.logs).toMatch(/syntax error/);
  });

  it('migrates and reports status from the command line', async () => {
    const db = await fresh();
    const env = { ...process.env, DATABASE_URL: db.url };
    const before = run(process.execPath, [CLI, 'status'], { env });
    await expect(before).rejects.toMatchObject({ code: 2 });
    const pendingOutput = (await before.catch((e: { stdout: string }) => e)).stdout;
    expect(pendingOutput).toContain(`pending   ${MIGRATION_NAMES[0]}`);

    const migrated = await run(process.execPath, [CLI, 'migrate', '--schema', 'es_cli'], { env });
    expect(migrated.stdout).toContain(`Applied migration ${MIGRATION_NAMES[0]} to schema "es_cli"`);
    const again = await run(process.execPath, [CLI, 'migrate', '--schema=es_cli'], { env });
    expect(again.stdout).toContain('Schema "es_cli" is up to date.');
    const status = await run(process.execPath, [CLI, 'status', '--schema', 'es_cli'], { env });
    expect(status.stdout).toContain(`applied   ${MIGRATION_NAMES[0]}`);

    const bad = run(process.execPath, [CLI, 'migrate', '--schema', 'Bad-Name'], { env });
    await expect(bad).rejects.toMatchObject({ code: 1 });
    const { stderr } = (await bad.catch((e: unknown) => e)) as { stderr: string };
    expect(stderr).toMatch(/schema must be a lower-case Postgres identifier/);
  });
});
