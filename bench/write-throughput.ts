import { Pool } from 'pg';
import { startEventStream } from '../test/harness/event-stream-app';
import { load, round } from './measure';
import type { Scale } from './scale';

export interface WriteFigure {
  /** `sendEvent`, or `sendEvents` with `batch` events a call. */
  readonly call: string;
  readonly callers: number;
  readonly channels: number;
  readonly batch: number;
  /** Events committed per second through the library. */
  readonly eventsPerSecond: number;
  /** Rows per second with plain `pg`, one INSERT per transaction, same callers and channels. */
  readonly baselinePerSecond: number;
  readonly ratio: number;
  readonly load: number;
}

/** Connections, the same for the library and the baseline (the library's default). */
const POOL_SIZE = 10;
export const PAYLOAD = { text: 'x'.repeat(64) };

/**
 * Runs `callers` loops of `write` for `ms`, each awaiting its previous write:
 * resolves with events written per second.
 */
export async function throughput(
  ms: number,
  callers: number,
  eventsPerCall: number,
  write: (caller: number, i: number) => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  const end = started + ms;
  let calls = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; performance.now() < end; i++) {
        await write(caller, i);
        calls++;
      }
    }),
  );
  return (calls * eventsPerCall * 1000) / (performance.now() - started);
}

/**
 * Measures two things in turns (`scale.writeRounds` of each, interleaved),
 * so a change in the machine's load hits both alike: the median of each.
 */
async function alternate(
  scale: Scale,
  ours: (ms: number) => Promise<number>,
  baseline: (ms: number) => Promise<number>,
): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  const ms = scale.writeMs / scale.writeRounds;
  for (let round = 0; round < scale.writeRounds; round++) {
    b.push(await baseline(ms));
    a.push(await ours(ms));
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
  return [median(a), median(b)];
}

/**
 * The floor's table: the library's columns and primary key, seq from an
 * identity column (no per-channel counter). Resolves with its INSERT, one
 * prepared statement and one transaction per call.
 */
export async function rawFloor(
  pool: Pool,
): Promise<(channel: string, type: string, json: string) => Promise<unknown>> {
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS bench_raw;
    CREATE TABLE IF NOT EXISTS bench_raw.events (
      channel text NOT NULL,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      type text NOT NULL,
      data json NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      PRIMARY KEY (channel, seq)
    )`);
  return (channel, type, json) =>
    pool.query({ name: 'bench-raw-insert', text: RAW_INSERT, values: [channel, type, json] });
}

/** The floor's one statement: an event's channel, type and JSON data. */
export const RAW_INSERT = 'INSERT INTO bench_raw.events (channel, type, data) VALUES ($1, $2, $3)';

/**
 * Write throughput of `sendEvent` and `sendEvents` against the floor of the
 * same rows written with plain `pg`, one INSERT per transaction, into an
 * equivalent table (same columns and primary key, seq from an identity
 * column: no per-channel counter), on the same database and pool size.
 */
export async function benchWrites(databaseUrl: string, scale: Scale): Promise<WriteFigure[]> {
  const stream = await startEventStream({ databaseUrl, poolSize: POOL_SIZE });
  const pool = new Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  const insertRaw = await rawFloor(pool);
  const rawInsert = (channel: string) => insertRaw(channel, 'tick', JSON.stringify(PAYLOAD));
  const channelOf = (channels: number, caller: number, i: number) =>
    `w${channels}-${(caller + i) % channels}`;

  const figures: WriteFigure[] = [];
  try {
    // Warm both paths up: connections, prepared plans, JIT.
    await throughput(scale.writeMs / 2, 16, 1, (c, i) => rawInsert(channelOf(100, c, i)));
    await throughput(scale.writeMs / 2, 16, 1, (c, i) =>
      stream.events.sendEvent(channelOf(100, c, i), 'tick', PAYLOAD),
    );
    const baselines = new Map<string, number>();
    for (const channels of [1, 100]) {
      for (const callers of [1, 16, 64]) {
        const [ours, baseline] = await alternate(
          scale,
          (ms) =>
            throughput(ms, callers, 1, (c, i) =>
              stream.events.sendEvent(channelOf(channels, c, i), 'tick', PAYLOAD),
            ),
          (ms) => throughput(ms, callers, 1, (c, i) => rawInsert(channelOf(channels, c, i))),
        );
        baselines.set(`${callers}/${channels}`, baseline);
        figures.push(figure('sendEvent', callers, channels, 1, ours, baseline));
      }
    }
    const batch = 100;
    for (const channels of [1, 100]) {
      for (const callers of [1, 16]) {
        const ours = await throughput(scale.writeMs, callers, batch, (c, i) =>
          stream.events.sendEvents(
            Array.from({ length: batch }, (_, k) => ({
              channel: channelOf(channels, c, i * batch + k),
              type: 'tick',
              data: PAYLOAD,
            })),
          ),
        );
        const baseline = baselines.get(`${callers}/${channels}`)!;
        figures.push(figure(`sendEvents`, callers, channels, batch, ours, baseline));
      }
    }
  } finally {
    await pool.end();
    await stream.close();
  }
  return figures;
}

function figure(
  call: string,
  callers: number,
  channels: number,
  batch: number,
  ours: number,
  baseline: number,
): WriteFigure {
  return {
    call,
    callers,
    channels,
    batch,
    eventsPerSecond: Math.round(ours),
    baselinePerSecond: Math.round(baseline),
    ratio: round(ours / baseline),
    load: load(),
  };
}
