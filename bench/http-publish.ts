import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { startEventStream } from '../test/harness/event-stream-app';
import { startServerProcess } from '../test/harness/server-process';
import { jsonPost, KeepAliveConnection } from './keep-alive-client';
import { load, round } from './measure';
import type { Scale } from './scale';
import { PAYLOAD, RAW_INSERT, rawFloor, throughput } from './write-throughput';

export interface HttpPublishFigure {
  /** What was posted to: the bundled server's route, or {@link BARE_ROUTE}, its floor. */
  readonly route: string;
  /** Concurrent callers of `POST /publish`, one event a request, on one channel. */
  readonly callers: number;
  readonly eventsPerSecond: number;
  /** Mean time a request takes, as one caller sees it. */
  readonly msPerRequest: number;
  /** What it is compared with: the floor (64 callers) or `sendEvent` in process (one). */
  readonly baseline: string;
  readonly baselinePerSecond: number;
  readonly baselineMsPerCall: number;
  /** Events/s against the baseline's. */
  readonly ratio: number;
  readonly load: number;
}

const KEY = 'bench-publish-key-0123456789';
export const OUR_ROUTE = 'POST /publish';
export const BARE_ROUTE = 'bare node:http calling sendEvent';
const CALLERS = 64;
/** Each measurement of a round (pgbench's connections are made before it). */
const ROUND_SECONDS = 1.5;
/** Rounds of each pair at most: five would take this group past a minute. */
const MAX_ROUNDS = 3;

/**
 * The bundled server's `POST /publish` (`src/main.ts`, in a process of its
 * own, as `npm start` runs it), driven over keep-alive connections, one
 * event a request on one channel:
 * - 64 callers against the floor of one INSERT per transaction from 64
 *   clients on the same database: pgbench where it is installed, else the
 *   same with `pg` (which one is named in the figure);
 * - one caller against `sendEvent` called in process, on the same database.
 * Each pair runs in turns (`scale.writeRounds`, at most 3, times); medians are kept.
 */
export async function benchHttpPublish(
  databaseUrl: string,
  scale: Scale,
  log: (line: string) => void,
): Promise<HttpPublishFigure[]> {
  const cleanups: (() => unknown)[] = [];
  try {
    const server = await startServerProcess(
      { DATABASE_URL: databaseUrl, EVENTSTREAM_PUBLISH_KEY: KEY, EVENTSTREAM_DEMO: 'off' },
      undefined,
      join(__dirname, '..', 'src', 'main.js'),
    );
    cleanups.push(() => server.stop());
    const bare = await startServerProcess(
      { DATABASE_URL: databaseUrl },
      undefined,
      join(__dirname, 'bare-publish-server.js'),
    );
    cleanups.push(() => bare.stop());
    const stream = await startEventStream({ databaseUrl });
    cleanups.push(() => stream.close());
    const floor = await insertFloor(databaseUrl);
    cleanups.push(() => floor.close());
    const portOf = (process: { baseUrl: string }) => Number(new URL(process.baseUrl).port);
    /**
     * `callers` loops of `POST /publish` on `channel` for `ms`, each on a
     * keep-alive connection of its own, opened for the round: the server
     * closes connections idle for 5 s, as the floor's turn leaves them.
     */
    const posting = async (ms: number, callers: number, channel: string, to = server) => {
      const body = JSON.stringify({ channel, type: 'tick', data: PAYLOAD });
      const port = portOf(to);
      const request = jsonPost('/publish', port, { Authorization: `Bearer ${KEY}` }, body);
      const connections = await Promise.all(
        Array.from({ length: callers }, () => KeepAliveConnection.open(port, request)),
      );
      try {
        return await throughput(ms, callers, 1, async (caller) => {
          const status = await connections[caller].send();
          if (status !== 201) throw new Error(`POST /publish answered ${status}`);
        });
      } finally {
        connections.forEach((connection) => connection.close());
      }
    };
    const send = () => stream.events.sendEvent('sent-one', 'tick', PAYLOAD);
    const ms = ROUND_SECONDS * 1000;
    const rounds = Math.min(scale.writeRounds, MAX_ROUNDS);

    log('warming up…');
    // Connections, prepared plans, JIT, on both sides.
    await posting(ms, CALLERS, 'http-hot');
    await throughput(ms / 4, 1, 1, send);
    log(`${CALLERS} callers against ${floor.name}…`);
    const many = await inTurns(
      rounds,
      () => posting(ms, CALLERS, 'http-hot'),
      () => floor.run(CALLERS, ROUND_SECONDS),
    );
    log('one caller against sendEvent in process…');
    const one = await inTurns(
      rounds,
      () => posting(ms, 1, 'http-one'),
      () => throughput(ms, 1, 1, send),
    );
    log('one caller of a bare node:http server calling sendEvent…');
    await posting(ms / 4, 1, 'bare-one', bare);
    const floorOfOne = await inTurns(
      rounds,
      () => posting(ms, 1, 'bare-one', bare),
      () => throughput(ms, 1, 1, send),
    );
    return [
      figure(OUR_ROUTE, CALLERS, many, `${floor.name}, ${CALLERS} clients`),
      figure(OUR_ROUTE, 1, one, 'sendEvent in process'),
      figure(BARE_ROUTE, 1, floorOfOne, 'sendEvent in process'),
    ];
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/** One INSERT per transaction into the write group's floor table, from `clients` at once. */
interface InsertFloor {
  readonly name: string;
  /** Resolves with transactions per second. */
  run(clients: number, seconds: number): Promise<number>;
  close(): Promise<void>;
}

async function insertFloor(databaseUrl: string): Promise<InsertFloor> {
  const pgbench = findPgbench();
  const pool = new Pool({ connectionString: databaseUrl, max: pgbench ? 1 : CALLERS });
  const insert = await rawFloor(pool);
  const data = JSON.stringify(PAYLOAD);
  if (!pgbench) {
    // Connected before the first round, as pgbench's clients are (outside its rate).
    const clients = await Promise.all(Array.from({ length: CALLERS }, () => pool.connect()));
    clients.forEach((client) => client.release());
    return {
      name: 'pg (no pgbench found)',
      run: (clients, seconds) =>
        throughput(seconds * 1000, clients, 1, () => insert('floor-hot', 'tick', data)),
      close: () => pool.end(),
    };
  }
  await pool.end();
  const dir = await mkdtemp(join(tmpdir(), 'eventstream-bench-pgbench-'));
  const script = join(dir, 'insert.sql');
  // With `--protocol=prepared`, pgbench binds `:name` variables as parameters.
  await writeFile(script, `${RAW_INSERT.replace(/\$[123]/g, (p) => VARIABLES[p])};\n`);
  const version = /\(PostgreSQL\) (\S+)/.exec(await run(pgbench, ['--version']))?.[1];
  // A count of transactions, not `--time`: pgbench 15 starts the clock before
  // its clients have connected, which on a busy machine can take longer
  // than the whole round. Each run's count comes from the last run's rate.
  let tps = 2_000;
  return {
    name: `pgbench ${version ?? ''}`.trim(),
    run: async (clients, seconds) => {
      const perClient = Math.max(10, Math.round((tps * seconds) / clients));
      const output = await run(pgbench, [
        '--no-vacuum',
        '--protocol=prepared',
        `--client=${clients}`,
        '--jobs=2',
        `--transactions=${perClient}`,
        `--file=${script}`,
        '--define=channel=floor-hot',
        '--define=type=tick',
        `--define=data=${data}`,
        databaseUrl,
      ]);
      const rate = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
      if (!rate) throw new Error(`pgbench printed no tps:\n${output}`);
      tps = Number(rate[1]);
      return tps;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

const VARIABLES: Record<string, string> = { $1: ':channel', $2: ':type', $3: ':data' };

/** `pgbench` on the PATH, or Debian's under /usr/lib/postgresql (the newest). */
function findPgbench(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'pgbench'))) return join(dir, 'pgbench');
  }
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((v) => existsSync(join(debian, v, 'bin', 'pgbench')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(debian, versions[0], 'bin', 'pgbench') : undefined;
}

async function run(file: string, args: string[]): Promise<string> {
  // A pgbench that cannot connect may wait a long time: the run goes on without it.
  const { stdout, stderr } = await promisify(execFile)(file, args, { timeout: 60_000 });
  return stdout + stderr;
}

/** `ours` and `baseline` in turns, `rounds` times each: the median of each. */
async function inTurns(
  rounds: number,
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    b.push(await baseline());
    a.push(await ours());
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
  return [median(a), median(b)];
}

function figure(
  route: string,
  callers: number,
  [ours, baseline]: [number, number],
  name: string,
): HttpPublishFigure {
  return {
    route,
    callers,
    eventsPerSecond: Math.round(ours),
    msPerRequest: round((1000 * callers) / ours, 3),
    baseline: name,
    baselinePerSecond: Math.round(baseline),
    baselineMsPerCall: round((1000 * callers) / baseline, 3),
    ratio: round(ours / baseline),
    load: load(),
  };
}
