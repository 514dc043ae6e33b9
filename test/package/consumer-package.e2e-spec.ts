import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, '..', 'fixtures', 'consumer');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs on the build (`npm test` builds first), never on the sources. */
describe('the built package, used as an application uses it', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await run(process.execPath, [TSC, '-p', join(FIXTURE, 'tsconfig.json')]);
  });
  afterAll(() => db?.drop());

  it('type-checks, imports by name, and sends gapless ids from several processes', async () => {
    const channels = ['shared-a', 'shared-b'];
    const perProcess = 200;
    const processes = await Promise.all(
      [1, 2, 3].map(() =>
        run(
          process.execPath,
          [join(FIXTURE, 'dist', 'consumer.js'), String(perProcess), ...channels],
          { env: { ...process.env, DATABASE_URL: db.url } },
        ),
      ),
    );
    const ids = processes.flatMap(({ stdout }) => JSON.parse(stdout) as string[]);
    expect(ids).toHaveLength(3 * perProcess);
    for (const channel of channels) {
      const seqs = ids
        .filter((id) => id.startsWith(`${channel}:`))
        .map((id) => Number(id.split(':')[1]))
        .sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    const stored = await db.query<{ channel: string; n: number; max: number }>(
      `SELECT channel, count(*)::int AS n, max(seq)::int AS max FROM eventstream.events
       GROUP BY channel ORDER BY channel`,
    );
    expect(stored).toEqual([
      { channel: 'shared-a', n: 300, max: 300 },
      { channel: 'shared-b', n: 300, max: 300 },
    ]);
    // All three started at once with `migrate: true`: one history row each.
    expect(await db.query('SELECT count(*)::int AS n FROM eventstream._prisma_migrations')).toEqual(
      [{ n: 1 }],
    );
  });

  it('gives the browser client as nestjs-eventstream/client: an ES module with types', async () => {
    const app = await startHttpApp({ options: { databaseUrl: db.url } });
    try {
      await app.events.sendEvent('chat', 'message', { text: 'hello' });
      await app.events.sendEvent('chat', 'message', { text: 'again' });
      const { stdout } = await run(process.execPath, [
        join(FIXTURE, 'dist', 'client.mjs'),
        `${app.baseUrl}/events`,
        'chat',
        '2',
      ]);
      expect(JSON.parse(stdout)).toEqual(['chat:1 HELLO', 'chat:2 AGAIN']);
    } finally {
      await app.close();
    }
  });

  it('publishes the build, the migrations and the CLI, and no sources', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
    });
    const [{ files }] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'dist/eventstream/index.js',
        'dist/eventstream/index.d.ts',
        'dist/eventstream/storage/postgres/migrator.js',
        'dist/cli/main.js',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/client/package.json',
        'prisma/schema.prisma',
        'prisma/migrations/migration_lock.toml',
        'prisma/migrations/20261123000000_init/migration.sql',
        'README.md',
      ]),
    );
    expect(paths.filter((p) => /^(src|test)\//.test(p) || p.startsWith('dist/server'))).toEqual([]);
    // The library's queries run on pg: it neither ships a Prisma client nor loads one.
    expect(paths.filter((p) => p.includes('generated'))).toEqual([]);
    // grep exits with 1 when nothing matches.
    const loadsPrisma = await run('grep', [
      '-rlF',
      'require("@prisma/',
      join(ROOT, 'dist', 'eventstream'),
    ]).then(
      ({ stdout }) => stdout.trim().split('\n'),
      (error: { code?: number }) => {
        if (error.code === 1) return [];
        throw error;
      },
    );
    expect(loadsPrisma).toEqual([]);
  });
});
