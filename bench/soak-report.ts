import { percentile, round } from './measure';
import type { Layout, TableStats } from './soak-database';
import type { LoadWindow } from './soak-load';

/** One sample: the load since the previous one, and the table at its end. */
export interface Sample extends TableStats {
  /** Seconds since the load started, at the end of the window. */
  readonly t: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  /** The machine's 1-minute load average. */
  readonly load: number;
}

/** A minute of the run: its rate and p99 over all its sends, and the size at its end. */
export interface MinuteFigure {
  readonly eventsPerSecond: number;
  readonly p99Ms: number;
  readonly bytes: number;
}

export interface Verdict {
  /** `null`: the run was too short to have both a steady state and an end to compare. */
  readonly flat: boolean | null;
  readonly text: string;
  readonly steadyFromS?: number;
  readonly lastFromS?: number;
  /** Growth of the size after the warm-up, least squares. */
  readonly sizeSlopeMiBPerMinute?: number;
}

export interface LayoutResult {
  readonly requested: Layout;
  /** What the table was in the database (a partitioned run before the partition migration is classic). */
  readonly table: Layout;
  readonly migrations: string[];
  readonly note?: string;
  readonly samples: Sample[];
  readonly firstMinute: MinuteFigure;
  readonly lastMinute: MinuteFigure;
  readonly verdict: Verdict;
  readonly errors: number;
  readonly firstError?: string;
}

/**
 * How far the end of the run may stray from the steady state and still be
 * "flat". Size is compared peak to peak, so a partitioned table's sawtooth
 * (a partition dropped at a time) does not count as growth; bloat does, as
 * it only grows. Rate and p99 are compared median to median, with wider
 * bands: on a shared 2-core machine 10-second p99s ranged from 22 to 51 ms
 * within one 2-minute run with nothing changed (load average 6 to 9).
 */
export const BANDS = { size: 0.1, p99: 0.5, rate: 0.2 };

export function sampleOf(t: number, window: LoadWindow, stats: TableStats, load: number): Sample {
  const ms = (p: number) => round(percentile(window.latencies, p), 2);
  return {
    t: round(t, 1),
    eventsPerSecond: Math.round(window.events / window.seconds),
    p50Ms: ms(50),
    p99Ms: ms(99),
    maxMs: ms(100),
    errors: window.errors,
    ...stats,
    oldestAgeS: stats.oldestAgeS === null ? null : round(stats.oldestAgeS, 1),
    load,
  };
}

/** A minute's figure from its windows (latencies merged) and its last sample. */
export function minuteOf(windows: readonly LoadWindow[], last: Sample | undefined): MinuteFigure {
  const seconds = windows.reduce((sum, w) => sum + w.seconds, 0);
  const events = windows.reduce((sum, w) => sum + w.events, 0);
  const all = new Float64Array(events);
  let at = 0;
  for (const w of windows) {
    all.set(w.latencies, at);
    at += w.latencies.length;
  }
  all.sort();
  return {
    eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : 0,
    p99Ms: round(percentile(all, 99), 2),
    bytes: last?.bytes ?? 0,
  };
}

/**
 * Flat or not, computed from the samples. The warm-up (ignored) lasts until
 * retention has had its first full pass and the table its first
 * autovacuums: the longer of a third of the run and the retention age plus
 * two trim intervals and a sample. The end is the last two minutes (less in
 * a short run: half of what follows the warm-up); the steady state is what
 * lies between. Each needs two samples at least. Failed sends after the
 * warm-up make a run not flat.
 */
export function verdictOf(
  samples: readonly Sample[],
  durationS: number,
  retentionS: number,
  intervalS: number,
  sampleS: number,
): Verdict {
  const warmUp = Math.max(durationS / 3, retentionS + 2 * intervalS + sampleS);
  const lastFrom = durationS - Math.min(120, (durationS - warmUp) / 2);
  const steady = samples.filter((s) => s.t > warmUp && s.t <= lastFrom);
  const last = samples.filter((s) => s.t > lastFrom);
  if (steady.length < 2 || last.length < 2) {
    return {
      flat: null,
      text: `too short to judge (${steady.length} steady and ${last.length} final samples after a ${Math.round(warmUp)} s warm-up; 2 of each needed)`,
    };
  }
  const peak = (list: readonly Sample[]) => Math.max(...list.map((s) => s.bytes));
  const median = (values: number[]) =>
    values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  const size = [peak(steady), peak(last)];
  const p99 = [median(steady.map((s) => s.p99Ms)), median(last.map((s) => s.p99Ms))];
  const rate = [
    median(steady.map((s) => s.eventsPerSecond)),
    median(last.map((s) => s.eventsPerSecond)),
  ];
  const failed = [...steady, ...last].reduce((sum, s) => sum + s.errors, 0);
  const checks = [
    {
      ok: size[1] <= size[0] * (1 + BANDS.size),
      text: `size peak ${mib(size[1])} vs ${mib(size[0])} MiB (band +${BANDS.size * 100}%)`,
    },
    {
      ok: p99[1] <= p99[0] * (1 + BANDS.p99),
      text: `p99 ${p99[1]} vs ${p99[0]} ms (band +${BANDS.p99 * 100}%)`,
    },
    {
      ok: rate[1] >= rate[0] * (1 - BANDS.rate),
      text: `rate ${rate[1]} vs ${rate[0]}/s (band -${BANDS.rate * 100}%)`,
    },
    {
      // A send that fails is load the run did not hold, whatever the rate says.
      ok: failed === 0,
      text: `${failed} failed sends after the warm-up`,
    },
  ];
  const flat = checks.every((c) => c.ok);
  const after = samples.filter((s) => s.t > warmUp);
  return {
    flat,
    text: `${flat ? 'flat' : 'NOT flat'}: last ${Math.round(durationS - lastFrom)} s against the steady state of ${Math.round(warmUp)}-${Math.round(lastFrom)} s: ${checks
      .map((c) => `${c.ok ? 'ok' : 'OUT'} ${c.text}`)
      .join('; ')}`,
    steadyFromS: Math.round(warmUp),
    lastFromS: Math.round(lastFrom),
    sizeSlopeMiBPerMinute: round(slope(after.map((s) => [s.t / 60, s.bytes / 2 ** 20])), 2),
  };
}

function slope(points: readonly [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

export const SAMPLE_HEADER = [
  't s',
  'events/s',
  'p50 ms',
  'p99 ms',
  'max ms',
  'errors',
  'size MiB',
  'live rows',
  'dead rows',
  'partitions',
  'oldest s',
  'autovacuums',
  'load',
]
  .map((h) => h.padStart(11))
  .join('');

export function sampleLine(s: Sample): string {
  return [
    s.t,
    s.eventsPerSecond,
    s.p50Ms,
    s.p99Ms,
    s.maxMs,
    s.errors,
    mib(s.bytes),
    s.liveRows,
    s.deadRows,
    s.partitions,
    s.oldestAgeS ?? '-',
    s.autovacuums,
    s.load,
  ]
    .map((cell) => String(cell).padStart(11))
    .join('');
}

/** The summary as Markdown, one row per layout: what docs/benchmarks.md quotes. */
export function summaryTable(results: readonly LayoutResult[]): string {
  const rows = results.map((r) => [
    r.requested === r.table ? r.table : `${r.requested} (table: ${r.table})`,
    `${r.firstMinute.eventsPerSecond} → ${r.lastMinute.eventsPerSecond}`,
    `${r.firstMinute.p99Ms} → ${r.lastMinute.p99Ms}`,
    `${mib(r.firstMinute.bytes)} → ${mib(r.lastMinute.bytes)}`,
    r.verdict.sizeSlopeMiBPerMinute ?? '-',
    r.errors,
    r.verdict.flat === null ? 'too short' : r.verdict.flat ? 'flat' : 'NOT flat',
  ]);
  const header = [
    'layout',
    'events/s (first min → last min)',
    'p99 ms',
    'size MiB',
    'size slope MiB/min',
    'errors',
    'verdict',
  ];
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
