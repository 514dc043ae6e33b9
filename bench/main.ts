/**
 * `npm run bench`: every figure against a baseline measured in the same run,
 * on this machine, so ratios hold on a busy machine. Prints tables and
 * writes bench/results/latest.json. `-- --quick` runs a smaller version.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/server/embedded-postgres';
import { freePort } from '../src/server/free-port';
import { ADMIN_URL_VARIABLE, createTestDatabase, withClient } from '../test/harness/postgres';
import { startPushpin } from '../test/harness/pushpin';
import { benchDelivery, type DeliveryFigure, type MemoryFigure } from './delivery';
import { benchHttpPublish, type HttpPublishFigure } from './http-publish';
import { load, machine } from './measure';
import { benchReplay, type ReplayFigure } from './replay';
import { report, targets } from './report';
import { FULL, QUICK } from './scale';
import { benchWrites, type WriteFigure } from './write-throughput';

/**
 * Pushpin's stock `message_rate` (2500 deliveries a second) is below what
 * 1,000 clients x 20 events/s need; both Pushpins of the run, ours and the
 * bare floor, are the same one with this cap.
 */
export const PUSHPIN_SETTINGS = { message_rate: 100_000, message_hwm: 1_000_000 };

export interface Results {
  readonly date: string;
  readonly scale: string;
  readonly machine: ReturnType<typeof machine>;
  readonly pushpinSettings: typeof PUSHPIN_SETTINGS;
  readonly loadAtStart: number;
  readonly writes: WriteFigure[];
  readonly httpPublish: HttpPublishFigure[];
  readonly delivery: DeliveryFigure[];
  readonly memory: MemoryFigure[];
  readonly replay: ReplayFigure[];
  readonly targets: ReturnType<typeof targets>;
  readonly errors: string[];
  readonly seconds: number;
}

const adminUrl = () => process.env[ADMIN_URL_VARIABLE] as string;

/**
 * Each group on a database of its own, dropped after it, and from a
 * checkpoint: what one group leaves must not cost the next. The write group
 * leaves some 800,000 events, over 100,000 on some channels, which the
 * delivery group's apps would otherwise trim (retention keeps 100,000 a
 * channel) and autovacuum then clean up while latency is measured.
 */
async function onFreshDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const db = await createTestDatabase();
  try {
    // Needs a superuser or pg_checkpoint; a DATABASE_URL without goes on without.
    await withClient(adminUrl(), (client) => client.query('CHECKPOINT')).catch(
      (error: { code?: string }) => {
        if (error.code !== '42501') throw error;
      },
    );
    return await run(db.url);
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const scale = process.argv.includes('--quick') ? QUICK : FULL;
  // `--only=writes,publish,replay,delivery`: some groups only, while working on them.
  const only = process.argv
    .find((arg) => arg.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const wanted = (group: string) => !only || only.includes(group);
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const loadAtStart = load();
  let postgres: RunningPostgres | undefined;
  let dataDir: string | undefined;
  if (process.env.DATABASE_URL) {
    process.env[ADMIN_URL_VARIABLE] = process.env.DATABASE_URL;
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'eventstream-bench-pg-'));
    postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
    process.env[ADMIN_URL_VARIABLE] = postgres.url;
  }
  const backendPort = await freePort();
  const pushpin = await startPushpin({
    backendPort,
    sigKey: 'bench-sig-key-0123456789abcdefghijklmnopqrstuv',
    settings: PUSHPIN_SETTINGS,
  });
  const errors: string[] = [];
  const attempt = async <T>(name: string, run: () => Promise<T>, fallback: T): Promise<T> => {
    log(`${name}…`);
    try {
      return await run();
    } catch (error) {
      const text = `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      log(text);
      errors.push(text);
      return fallback;
    }
  };
  try {
    const postgresVersion = await withClient(adminUrl(), async (client) => {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return rows[0].server_version;
    });
    const pushpinVersion = execFileSync('pushpin', ['--version'], { encoding: 'utf8' }).trim();
    const host = machine(postgresVersion, pushpinVersion);
    log(`machine: ${JSON.stringify(host)}, load ${loadAtStart}`);

    const writes = wanted('writes')
      ? await attempt(
          'write throughput',
          () => onFreshDatabase((url) => benchWrites(url, scale)),
          [],
        )
      : [];
    const httpPublish = wanted('publish')
      ? await attempt(
          'HTTP publish',
          () => onFreshDatabase((url) => benchHttpPublish(url, scale, log)),
          [],
        )
      : [];
    const replay = wanted('replay')
      ? await attempt('replay', () => onFreshDatabase((url) => benchReplay(url, scale)), [])
      : [];
    const { delivery, memory } = wanted('delivery')
      ? await attempt(
          'delivery and memory',
          () =>
            onFreshDatabase((databaseUrl) =>
              benchDelivery({ databaseUrl, pushpin, backendPort, scale, log }),
            ),
          { delivery: [], memory: [] },
        )
      : { delivery: [], memory: [] };
    const results: Results = {
      date: new Date().toISOString(),
      scale: only ? `${scale.name}, only ${only.join(', ')}` : scale.name,
      machine: host,
      pushpinSettings: PUSHPIN_SETTINGS,
      loadAtStart,
      writes,
      httpPublish,
      delivery,
      memory,
      replay,
      targets: targets({ writes, httpPublish, delivery, memory, replay }),
      errors,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    console.log(`\n${report(results)}`);
    const dir = join(process.cwd(), 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote bench/results/latest.json (${results.seconds} s)`);
  } finally {
    await pushpin.stop();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
  if (errors.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
