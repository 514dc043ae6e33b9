// The consumer suite: what a new user does, for each Nest major and module
// system. It packs the built library, generates apps with the official CLI
// from npm, installs the tarball into each with a plain `npm install`, adds
// the files in ./templates, builds each app with its own settings, runs the
// test in its own runner against a real Postgres, then starts the built app
// and reads its stream. Apps live in a temporary directory, removed at the
// end (kept with CONSUMER_KEEP=1). Run after `npm run build`.
//
//   node test/consumer/run.mjs [app name...]
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const TEMPLATES = join(HERE, 'templates');
const require = createRequire(import.meta.url);

// The Nest 12 CLI asks questions a script cannot answer: --no-interactive
// takes the defaults, except @nestjs/observe (an online service's SDK, wired
// in by default with placeholder keys) and the agent skills, which are not
// what is tested here.
const NEST12_FLAGS = ['--no-interactive', '--no-observe', '--skip-skills'];

const APPS = [
  {
    // The CLI's default: ESM, vitest.
    name: 'nest12-esm',
    cli: '@nestjs/cli@12',
    flags: NEST12_FLAGS,
    esm: true,
    platform: 'express',
  },
  {
    // Jest 30 with ts-jest loads ESM-only Nest through require(esm), which
    // its template runs with --experimental-vm-modules and which needs
    // Node >= 24.9 (Nest's template and docs say so).
    name: 'nest12-cjs-fastify',
    cli: '@nestjs/cli@12',
    flags: ['--type', 'cjs', ...NEST12_FLAGS],
    esm: false,
    platform: 'fastify',
    testNode: '24.9',
  },
  {
    // Jest on Node < 24.9: GRIP mode needs the README's transform for
    // @fanoutio/grip (an ES module only), which this app gets.
    name: 'nest11-cjs',
    cli: '@nestjs/cli@11',
    flags: [],
    esm: false,
    platform: 'express',
    jestGripTransform: true,
  },
];

try {
  require.resolve(join(ROOT, 'dist/eventstream/index.js'));
} catch {
  fail('No build to pack: run `npm run build` first.');
}
const only = process.argv.slice(2);
const apps = only.length ? APPS.filter((app) => only.includes(app.name)) : APPS;
if (apps.length === 0) fail(`no app named ${only.join(', ')}; apps: ${APPS.map((a) => a.name)}`);

const work = await mkdtemp(join(tmpdir(), 'eventstream-consumers-'));
const results = [];
let postgres;
try {
  const started = Date.now();
  const tarball = await timed('pack', () => pack());
  postgres = await timed('postgres', () => startPostgres());
  const nodeFor = await timed('node versions', () => nodeVersions(apps));
  for (const app of apps) results.push(await runApp(app, { tarball, postgres, nodeFor }));
  report(results, Date.now() - started);
} finally {
  await postgres?.stop().catch((error) => console.error(error));
  if (process.env.CONSUMER_KEEP) console.log(`kept ${work}`);
  else await rm(work, { recursive: true, force: true });
}
if (results.some((r) => r.error)) process.exit(1);

async function runApp(app, { tarball, postgres, nodeFor }) {
  const dir = join(work, app.name);
  const times = {};
  const step = async (name, fn) => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      times[name] = Date.now() - t;
    }
  };
  console.log(`\n=== ${app.name}`);
  try {
    // `npx -y` runs the CLI the way its docs say, from npm; --skip-install,
    // so that the app's dependencies and the tarball go in with one install.
    await step('new', () =>
      sh(
        'npx',
        [
          '-y',
          app.cli,
          'new',
          app.name,
          '--skip-git',
          '--skip-install',
          '--package-manager',
          'npm',
          ...app.flags,
        ],
        { cwd: work },
      ),
    );
    const pkg = await addTemplates(app, dir);
    const extra = app.platform === 'fastify' ? [`@nestjs/platform-fastify@${pkg.nestRange}`] : [];
    // --prefer-offline takes package metadata from npm's cache when it has
    // it instead of asking the registry again: the apps share most of their
    // packages, and in CI the cache is minutes old (`npm ci` just filled it).
    // That took an install from 56-73 s to 20 s here. Peer ranges are checked
    // as strictly as by a bare `npm install`.
    await step('install', () =>
      sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...extra], {
        cwd: dir,
      }),
    );
    await step('build', () => sh('npm', ['run', 'build'], { cwd: dir }));
    // `nest build` compiles src only: type-check the tests too, with the
    // app's own tsconfig (its runner transpiles them without checking).
    await step('typecheck', () =>
      sh('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], { cwd: dir }),
    );
    const databaseUrl = await postgres.createDatabase(app.name.replace(/-/g, '_'));
    const node = nodeFor(app.testNode);
    await step('test', () =>
      sh('npm', ['run', 'test:e2e'], {
        cwd: dir,
        env: { DATABASE_URL: databaseUrl, PATH: `${node.binDir}:${process.env.PATH}` },
      }),
    );
    // The build, as `npm run start:prod` runs it, on the Node running this
    // suite (20.19+ in CI): a Nest 12 CJS app whose tests needed Node 24.
    await step('start', () => startBuiltApp(dir, databaseUrl));
    console.log(`ok ${app.name} (test on Node ${node.version})`);
    return { app, times, testNode: node.version };
  } catch (error) {
    console.error(`FAILED ${app.name}: ${error.message}`);
    return { app, times, error };
  }
}

/** Copies the templates in, as a user adds their own files to a new app. */
async function addTemplates(app, dir) {
  const files = [
    ['src/app.module.ts', 'src/app.module.ts'],
    ['src/main.ts', 'src/main.ts'],
    [`src/http-adapter.${app.platform}.ts`, 'src/http-adapter.ts'],
    ['test/eventstream.e2e-spec.ts', 'test/eventstream.e2e-spec.ts'],
    ['test/eventstream-grip.e2e-spec.ts', 'test/eventstream-grip.e2e-spec.ts'],
    ['test/sse-stream.ts', 'test/sse-stream.ts'],
  ];
  for (const [from, to] of files) {
    let text = await readFile(join(TEMPLATES, from), 'utf8');
    // The templates import relative files as ESM must (`./x.js`); the CJS
    // apps the CLI generates import them without an extension, which is all
    // Jest resolves to a .ts file.
    if (!app.esm) text = text.replace(/(from '\.{1,2}\/[^']*)\.js'/g, "$1'");
    await writeFile(join(dir, to), text);
  }
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8'));
  const nestRange = pkg.dependencies['@nestjs/core'];
  if (app.platform === 'fastify') {
    // A Fastify app has no Express: the library must not need it.
    delete pkg.dependencies['@nestjs/platform-express'];
    // The generated e2e test boots the app on the default (Express) platform.
    await rm(join(dir, 'test', 'app.e2e-spec.ts'));
    await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  if (app.jestGripTransform) {
    // What the README tells a Jest user in GRIP mode to add.
    const configPath = join(dir, 'test', 'jest-e2e.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    config.transformIgnorePatterns = ['/node_modules/(?!@fanoutio/grip/)'];
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  }
  return { nestRange };
}

/** Runs `node dist/main` with a free port and reads the start of a stream. */
async function startBuiltApp(dir, databaseUrl) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main'], {
    cwd: dir,
    env: { ...cleanEnv(), DATABASE_URL: databaseUrl, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let failure;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dist/main exited:\n${output}`);
      const head = await streamHead(`http://127.0.0.1:${port}/events?channel=consumer-suite`).catch(
        (error) => error,
      );
      if (typeof head === 'string') {
        // The e2e test left four events on this channel: resumed after the
        // second, the stream brings the third and fourth only.
        const ids = [...head.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);
        if (
          !head.includes('event: stream-open') ||
          ids.join() !== 'consumer-suite:3,consumer-suite:4'
        ) {
          throw new Error(`dist/main streamed:\n${head}`);
        }
        break;
      }
      if (Date.now() > deadline)
        throw new Error(`dist/main never answered (${head.message}):\n${output}`);
      await sleep(200);
    }
  } catch (error) {
    failure = error;
  }
  child.kill('SIGTERM');
  const { code, signal } = await exited;
  if (failure) throw failure;
  // Shutdown hooks close the module's pools, then Nest exits by the signal.
  if (code !== 0 && signal !== 'SIGTERM') {
    throw new Error(`dist/main exited with ${code ?? signal} on SIGTERM:\n${output}`);
  }
}

/** The first bytes of a stream resumed from consumer-suite:2, until event 4 has come. */
function streamHead(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'last-event-id': 'consumer-suite:2' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
      let text = '';
      res.setEncoding('utf8');
      const timer = setTimeout(() => (req.destroy(), resolve(text)), 5_000);
      res.on('data', (chunk) => {
        text += chunk;
        if (text.includes('id: consumer-suite:4')) {
          clearTimeout(timer);
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function pack() {
  const { stdout } = await sh('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    quiet: true,
  });
  return join(work, JSON.parse(stdout)[0].filename);
}

/** `DATABASE_URL` when it is set (it must allow CREATE DATABASE), else an embedded server. */
async function startPostgres() {
  let adminUrl = process.env.DATABASE_URL;
  let stopServer = async () => undefined;
  if (!adminUrl) {
    const { startEmbeddedPostgres } = require(join(ROOT, 'dist/server/embedded-postgres.js'));
    // Its own temporary directory, as the test harness does: the `postgres`
    // user must be able to enter its parent.
    const dataDir = await mkdtemp(join(tmpdir(), 'eventstream-consumers-pg-'));
    const server = await startEmbeddedPostgres({ dataDir, persistent: false });
    adminUrl = server.url;
    stopServer = () => server.stop();
  }
  const { Client } = require('pg');
  const admin = async (sql) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const created = [];
  const suffix = `${process.pid}_${Date.now()}`;
  return {
    async createDatabase(name) {
      const database = `consumer_${name}_${suffix}`;
      await admin(`CREATE DATABASE ${database}`);
      created.push(database);
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      return url.toString();
    },
    async stop() {
      for (const database of created)
        await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await stopServer();
    },
  };
}

/**
 * The Node each app's tests need: this one, or a newer one installed from
 * npm as a platform package (no download step) into the temporary directory.
 */
async function nodeVersions(apps) {
  const current = { version: process.versions.node, binDir: join(process.execPath, '..') };
  const wanted = [...new Set(apps.map((a) => a.testNode).filter(Boolean))];
  const installed = new Map();
  for (const minimum of wanted) {
    if (atLeast(current.version, minimum)) continue;
    const major = minimum.split('.')[0];
    const prefix = join(work, 'tools', `node${major}`);
    await mkdir(prefix, { recursive: true });
    const spec = `node${major}@npm:node-${process.platform}-${process.arch}@^${major}`;
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefix', prefix, spec], {
      cwd: prefix,
    });
    const binDir = join(prefix, 'node_modules', `node${major}`, 'bin');
    const { stdout } = await sh(join(binDir, 'node'), ['--version'], { quiet: true });
    const version = stdout.trim().replace(/^v/, '');
    if (!atLeast(version, minimum)) fail(`npm gave Node ${version}, below ${minimum}`);
    installed.set(minimum, { version, binDir });
  }
  return (minimum) => (minimum && installed.get(minimum)) || current;
}

function atLeast(version, minimum) {
  const [a, b] = [version, minimum].map((v) => v.split('.').map(Number));
  return a[0] !== b[0] ? a[0] > b[0] : (a[1] ?? 0) >= (b[1] ?? 0);
}

function freePort() {
  const net = require('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * The environment without what `npm run` adds for this repository, so an
 * app's own npm commands see only their own package.
 */
function cleanEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^npm_(package_|lifecycle_|config_local_prefix$)/i.test(key) && key !== 'INIT_CWD',
    ),
  );
}

/** Runs a command; its output is shown only when it fails (or always with CONSUMER_VERBOSE=1). */
function sh(command, args, { cwd, env = {}, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...cleanEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (process.env.CONSUMER_VERBOSE && !quiet) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (process.env.CONSUMER_VERBOSE && !quiet) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve({ stdout, stderr });
      const output = `${stdout}\n${stderr}`.trim().split('\n').slice(-80).join('\n');
      reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${code}:\n${output}`));
    });
  });
}

async function timed(name, fn) {
  const t = Date.now();
  const value = await fn();
  console.log(`${name}: ${seconds(Date.now() - t)}`);
  return value;
}

function report(results, total) {
  const steps = ['new', 'install', 'build', 'typecheck', 'test', 'start'];
  console.log(`\n${['app', ...steps, 'total'].map((s) => s.padEnd(20)).join('')}`);
  for (const { app, times, error } of results) {
    const sum = Object.values(times).reduce((a, b) => a + b, 0);
    const cells = steps.map((s) => (s in times ? seconds(times[s]) : '-'));
    console.log(
      [app.name, ...cells, seconds(sum)].map((c) => c.padEnd(20)).join(''),
      error ? 'FAILED' : '',
    );
  }
  console.log(`whole suite: ${seconds(total)}`);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function fail(message) {
  console.error(message);
  process.exit(1);
}
