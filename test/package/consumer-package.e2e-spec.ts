import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { builtPath, PUBLIC_API, type EntryPoint } from './public-api';

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
    // All three started at once with `migrate: true`: one history row per migration.
    const migrations = (
      await readdir(join(ROOT, 'prisma', 'migrations'), { withFileTypes: true })
    ).filter((entry) => entry.isDirectory()).length;
    expect(await db.query('SELECT count(*)::int AS n FROM eventstream._prisma_migrations')).toEqual(
      [{ n: migrations }],
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
        ...Object.values(PUBLIC_API).flatMap((entry) =>
          ['.js', '.d.ts'].map((ext) => builtPath(entry.source, ext as '.js').slice(2)),
        ),
        'dist/cli/main.js',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/client/package.json',
        'prisma/schema.prisma',
        'prisma/migrations/migration_lock.toml',
        'prisma/migrations/20261123000000_init/migration.sql',
        'prisma/migrations/20261207000000_idempotency_keys/migration.sql',
        'prisma/migrations/20261208000000_presence/migration.sql',
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

  describe('installed from its tarball', () => {
    let app: string;

    beforeAll(async () => {
      app = await mkdtemp(join(tmpdir(), 'eventstream-packed-'));
      const { stdout } = await run(
        'npm',
        ['pack', '--json', '--ignore-scripts', '--pack-destination', app],
        { cwd: ROOT },
      );
      const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
      const modules = join(app, 'node_modules');
      const installed = join(modules, 'nestjs-eventstream');
      await mkdir(installed, { recursive: true });
      await run('tar', ['-xzf', join(app, filename), '-C', installed, '--strip-components', '1']);
      // Its dependencies are this repository's, placed beside it as npm would.
      for (const name of await readdir(join(ROOT, 'node_modules'))) {
        if (name.startsWith('.') || name === 'nestjs-eventstream') continue;
        await symlink(join(ROOT, 'node_modules', name), join(modules, name));
      }
    });
    afterAll(() => rm(app, { recursive: true, force: true }));

    const entries = Object.entries(PUBLIC_API);
    const forRequire = entries.filter(([, entry]) => !entry.esmOnly);
    /** What each entry point of `list` gives at run time, loaded by name from the app's folder. */
    const loaded = async (file: string, list: [string, EntryPoint][], load: string) => {
      await writeFile(
        join(app, file),
        `const out = {};
for (const name of ${JSON.stringify(list.map(([name]) => name))}) out[name] = Object.keys(${load}).sort();
process.stdout.write(JSON.stringify(out));\n`,
      );
      const { stdout } = await run(process.execPath, [join(app, file)], { cwd: app });
      return JSON.parse(stdout) as Record<string, string[]>;
    };
    const valuesOf = (list: [string, EntryPoint][]) =>
      Object.fromEntries(list.map(([name, entry]) => [name, [...entry.values].sort()]));

    it('gives each entry point to require (CommonJS apps: Nest 11)', async () => {
      expect(await loaded('entries.cjs', forRequire, 'require(name)')).toEqual(
        valuesOf(forRequire),
      );
    });

    it('gives each entry point to import (ES module apps: Nest 12)', async () => {
      const names = await loaded('entries.mjs', entries, 'await import(name)');
      // Node's view of a CommonJS module as an ES one adds these.
      const own = (keys: string[]) =>
        keys.filter((key) => !['default', '__esModule', 'module.exports'].includes(key));
      expect(Object.fromEntries(Object.entries(names).map(([n, keys]) => [n, own(keys)]))).toEqual(
        valuesOf(entries),
      );
    });

    it('types every name for TypeScript, with node10, node16 and bundler resolution', async () => {
      /** A module that imports every name an entry point exports, and exports them again. */
      const importing = (list: [string, EntryPoint][]) =>
        list
          .map(([name, entry]) => {
            const alias = (n: string) => `${n} as ${name.replace(/\W/g, '_')}_${n}`;
            const names = [
              ...entry.values.map(alias),
              ...entry.types.map((t) => `type ${alias(t)}`),
            ];
            return `export { ${names.join(', ')} } from '${name}';`;
          })
          .join('\n');
      await writeFile(join(app, 'commonjs.ts'), importing(forRequire));
      await writeFile(join(app, 'all.mts'), importing(entries));
      await writeFile(join(app, 'client.ts'), importing(entries.filter(([, e]) => e.esmOnly)));
      const tsc = (module: string, resolution: string, files: string[]) =>
        run(
          process.execPath,
          [
            TSC,
            '--noEmit',
            '--strict',
            '--experimentalDecorators',
            // Names and paths are what is checked here; the fixture above
            // checks the package's declarations themselves.
            '--skipLibCheck',
            '--types',
            'node',
            '--lib',
            'es2023,dom',
            '--target',
            'es2022',
            '--module',
            module,
            '--moduleResolution',
            resolution,
            ...files,
          ],
          { cwd: app },
        ).catch((error: Error & { stdout?: string }) => {
          throw new Error(
            `tsc --moduleResolution ${resolution}:\n${error.stdout || error.message}`,
          );
        });
      // Old Nest CLI apps: `exports` is ignored, `typesVersions` leads to the subpaths.
      await tsc('commonjs', 'node10', ['commonjs.ts', 'client.ts']);
      // Nest 11 and 12 CLI apps; the client from an ES module only.
      await tsc('node16', 'node16', ['commonjs.ts', 'all.mts']);
      await tsc('esnext', 'bundler', ['commonjs.ts', 'client.ts']);
    }, 240_000);
  });
});
