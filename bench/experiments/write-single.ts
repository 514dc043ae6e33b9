/**
 * Experiment: where a lone caller's `sendEvent` spends its time beyond the
 * raw `pg` floor (one INSERT per transaction). Each variant writes one event
 * at a time, awaiting each, in turns with the others:
 *
 * - `raw`: the benchmark's floor (`rawFloor`), an INSERT into a table with an identity seq.
 * - `statement`: the library's own append statement, run through `pg` on the
 *   library's tables (the counter-row bump, the insert, its indexes), with
 *   nothing else of the library.
 * - `no-created-at-index`: the same statement on a copy of the tables without
 *   the `created_at` index that retention trims by.
 * - `library`: `sendEvent`, everything included (validation, encoding, group
 *   commit, announcing the head to other instances).
 *
 *   node dist/bench/bench/experiments/write-single.js [ROUNDS] [VARIANTS]
 *
 * Built by `npm run bench` (`-- --quick --only=writes` builds it and returns
 * soon). Prints each variant's median rate of its rounds and its ratio to raw.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AppendStatement } from '../../src/eventstream/storage/postgres/append-statement';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/server/embedded-postgres';
import { startEventStream } from '../../test/harness/event-stream-app';
import { ADMIN_URL_VARIABLE, createTestDatabase } from '../../test/harness/postgres';
import { rawFloor } from '../write-throughput';

const DATA = { text: 'x'.repeat(64) };
const EVENT = { channel: 'lone', type: 'tick', json: JSON.stringify(DATA) };
const ROUND_MS = 1_000;

/** Writes one after another for `ms`: writes per second. */
async function rate(ms: number, write: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let writes = 0;
  while (performance.now() - started < ms) {
    await write();
    writes++;
  }
  return (writes * 1000) / (performance.now() - started);
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 9);
  let postgres: RunningPostgres | undefined;
  if (process.env.DATABASE_URL) {
    process.env[ADMIN_URL_VARIABLE] = process.env.DATABASE_URL;
  } else {
    postgres = await startEmbeddedPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'eventstream-write-single-')),
      persistent: false,
    });
    process.env[ADMIN_URL_VARIABLE] = postgres.url;
  }
  const db = await createTestDatabase();
  const stream = await startEventStream({ databaseUrl: db.url, poolSize: 10 });
  const unindexed = await startEventStream({
    databaseUrl: db.url,
    poolSize: 1,
    schema: 'eventstream_unindexed',
  });
  await unindexed.close();
  const pool = new Pool({ connectionString: db.url, max: 10 });
  await pool.query('DROP INDEX eventstream_unindexed.events_created_at_idx');
  const insertRaw = await rawFloor(pool);
  const statement = new AppendStatement('eventstream');
  const unindexedStatement = new AppendStatement('eventstream_unindexed');
  const variants: Record<string, () => Promise<unknown>> = {
    raw: () => insertRaw(EVENT.channel, EVENT.type, EVENT.json),
    statement: () => statement.run(pool, [EVENT]),
    'no-created-at-index': () => unindexedStatement.run(pool, [EVENT]),
    library: () => stream.events.sendEvent(EVENT.channel, EVENT.type, DATA),
  };
  const chosen = process.argv[3]?.split(',') ?? Object.keys(variants);
  const rates = new Map<string, number[]>(chosen.map((name) => [name, []]));
  try {
    for (const name of chosen) await rate(ROUND_MS / 2, variants[name]);
    for (let round = 0; round < rounds; round++) {
      for (const name of chosen) rates.get(name)!.push(await rate(ROUND_MS, variants[name]));
    }
    const raw = rates.has('raw') ? median(rates.get('raw')!) : NaN;
    console.log('| variant | writes/s (median) | vs raw | rounds |');
    console.log('| --- | --- | --- | --- |');
    for (const [name, values] of rates) {
      const rounded = values.map(Math.round);
      console.log(
        `| ${name} | ${median(rounded)} | ${(median(values) / raw).toFixed(2)}x | ${rounded.join(', ')} |`,
      );
    }
  } finally {
    await pool.end();
    await stream.close();
    await postgres?.stop();
  }
}

void main();
