import type { DeliveryFigure, MemoryFigure } from './delivery';
import { BARE_ROUTE, type HttpPublishFigure, OUR_ROUTE } from './http-publish';
import type { Results } from './main';
import type { ReplayFigure } from './replay';
import type { WriteFigure } from './write-throughput';

export interface Target {
  readonly target: string;
  readonly figure: string;
  /** `null`: not measured in this run. */
  readonly met: boolean | null;
}

interface Figures {
  readonly writes: readonly WriteFigure[];
  readonly httpPublish: readonly HttpPublishFigure[];
  readonly delivery: readonly DeliveryFigure[];
  readonly memory: readonly MemoryFigure[];
  readonly replay: readonly ReplayFigure[];
}

/** The targets, judged from this run's figures. */
export function targets({ writes, httpPublish, delivery, memory, replay }: Figures): Target[] {
  const list: Target[] = [];
  const write = (callers: number, minimum: number) => {
    const f = writes.find(
      (w) => w.call === 'sendEvent' && w.callers === callers && w.channels === 1,
    );
    list.push({
      target: `sendEvent, ${callers} caller(s) on one channel: >= ${minimum}x raw pg`,
      figure: f ? `${f.ratio}x (${f.eventsPerSecond}/s vs ${f.baselinePerSecond}/s)` : '-',
      met: f ? f.ratio >= minimum : null,
    });
  };
  write(64, 3);
  write(1, 0.8);
  list.push(...httpPublishTargets(httpPublish));
  for (const [clients, perSecond] of [
    [1_000, 20],
    [10_000, 1],
  ]) {
    const find = (mode: string) =>
      delivery.find((d) => d.mode === mode && d.clients === clients && d.perSecond === perSecond);
    const ours = find('pushpin');
    const bare = find('bare-pushpin');
    const ratio = ours && bare ? p99Ratio(ours, bare) : NaN;
    list.push({
      target: `Pushpin, ${clients} clients x ${perSecond}/s: p99 <= 1.25x bare Pushpin, no loss`,
      figure:
        ours && bare ? `${ratio.toFixed(2)}x (${p99Compared(ours, bare)}), lost ${ours.lost}` : '-',
      met: ours && bare ? ratio <= 1.25 && ours.lost === 0 && ours.outOfOrder === 0 : null,
    });
  }
  for (const [clients, perSecond] of [
    [1_000, 20],
    [10_000, 1],
  ]) {
    const find = (mode: string) =>
      delivery.find((d) => d.mode === mode && d.clients === clients && d.perSecond === perSecond);
    const ours = find('direct');
    const better = find('better-sse');
    const ratio = ours && better ? p99Ratio(ours, better) : NaN;
    list.push({
      target: `Direct mode, ${clients} clients x ${perSecond}/s: p99 <= 1.25x better-sse, no loss`,
      figure:
        ours && better
          ? `${ratio.toFixed(2)}x (${p99Compared(ours, better)}), lost ${ours.lost + ours.outOfOrder}`
          : '-',
      met: ours && better ? ratio <= 1.25 && ours.lost === 0 && ours.outOfOrder === 0 : null,
    });
  }
  const small = replay.find((r) => r.behind === 1_000);
  list.push({
    target: 'Replay of 1,000 events: <= 2x raw pg',
    figure: small
      ? `${small.ratio}x (${small.lastEventMs} vs ${small.baselineLastEventMs} ms)`
      : '-',
    met: small ? small.ratio <= 2 : null,
  });
  const large = replay.find((r) => r.behind === 100_000);
  list.push({
    target:
      'Replay of 100,000 events: flat memory (peak live memory growth < 1/4 of the bytes streamed)',
    figure: large
      ? `${large.peakLiveGrowthMiB} MiB live (${large.peakRssGrowthMiB} MiB RSS) for ${large.streamedMiB} MiB streamed`
      : '-',
    met: large ? large.peakLiveGrowthMiB < large.streamedMiB / 4 : null,
  });
  for (const m of memory) {
    list.push({
      target: `Direct mode, ${m.streams} idle streams: < 20 KiB per stream`,
      figure: `${(m.bytesPerStream / 1024).toFixed(1)} KiB (bare node:http ${(m.baselineBytesPerStream / 1024).toFixed(1)} KiB)`,
      met: m.bytesPerStream < 20 * 1024,
    });
  }
  const idle = memory.find((m) => m.streams === 10_000);
  list.push({
    target: 'Direct mode, 10000 idle streams: <= 1.5x better-sse per stream',
    figure: idle
      ? `${idle.ratio}x (${(idle.bytesPerStream / 1024).toFixed(1)} vs ${(idle.betterSseBytesPerStream / 1024).toFixed(1)} KiB)`
      : '-',
    met: idle ? idle.ratio <= 1.5 : null,
  });
  return list;
}

/**
 * Each turn's p99 against the baseline's round of the same turn, where both
 * ran the same turns (two or more); else undefined. The rounds of one turn
 * share the machine's state of those minutes (at 1,000 x 20/s through
 * Pushpin, the floor's own rounds range over 2.5x), which median rounds
 * taken apart do not.
 */
function turnRatios(ours: DeliveryFigure, baseline: DeliveryFigure): number[] | undefined {
  const rounds = ours.roundsP99Ms;
  if (rounds.length < 2 || rounds.length !== baseline.roundsP99Ms.length) return undefined;
  return rounds.map((p99, turn) => p99 / baseline.roundsP99Ms[turn]);
}

/** A mode's p99 against its baseline's: the geometric mean of its turns', or the plain ratio. */
function p99Ratio(ours: DeliveryFigure, baseline: DeliveryFigure): number {
  const ratios = turnRatios(ours, baseline);
  if (!ratios) return ours.p99Ms / baseline.p99Ms;
  return Math.exp(ratios.reduce((sum, ratio) => sum + Math.log(ratio), 0) / ratios.length);
}

/** The figures a {@link p99Ratio} comes from, as the targets quote them. */
function p99Compared(ours: DeliveryFigure, baseline: DeliveryFigure): string {
  const ratios = turnRatios(ours, baseline);
  if (!ratios) return `${ours.p99Ms} vs ${baseline.p99Ms} ms`;
  const turns = ratios.map((ratio) => ratio.toFixed(2)).join(', ');
  return `geometric mean of ${ratios.length} turns: ${turns}`;
}

/** Issue #22, target 1: the bundled server's `POST /publish`, against its floors. */
function httpPublishTargets(figures: readonly HttpPublishFigure[]): Target[] {
  const many = figures.find((f) => f.callers > 1);
  const one = figures.find((f) => f.callers === 1 && f.route === OUR_ROUTE);
  const bare = figures.find((f) => f.callers === 1 && f.route === BARE_ROUTE);
  const slower = one ? one.msPerRequest - one.baselineMsPerCall : NaN;
  // What any HTTP route that publishes pays: a bare handler's distance from the call in process.
  const floor = bare
    ? `; a ${BARE_ROUTE}: ${bare.msPerRequest} vs ${bare.baselineMsPerCall} ms`
    : '';
  return [
    {
      target: `POST /publish, ${many?.callers ?? 64} callers on one channel: >= 0.5x one INSERT per transaction at as many clients`,
      figure: many
        ? `${many.ratio}x (${many.eventsPerSecond}/s vs ${many.baseline} ${many.baselinePerSecond}/s)`
        : '-',
      met: many ? many.ratio >= 0.5 : null,
    },
    {
      target: 'POST /publish, 1 caller: within 0.3 ms of sendEvent in process',
      figure: one
        ? `${slower >= 0 ? '+' : ''}${slower.toFixed(3)} ms (${one.msPerRequest} vs ${one.baselineMsPerCall} ms${floor})`
        : '-',
      met: one ? slower <= 0.3 : null,
    },
  ];
}

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The run as Markdown: what the README quotes. */
export function report(results: Results): string {
  const m = results.machine;
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  return [
    `Run ${results.date} (${results.scale}, ${results.seconds} s), load average at start ${results.loadAtStart}`,
    `Machine: ${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node}, ` +
      `PostgreSQL ${m.postgres} (embedded), ${m.pushpin} (message_rate=${results.pushpinSettings.message_rate})`,
    '',
    '**Write throughput** (events/s; baseline: raw pg, one INSERT per transaction, same callers, channels and pool size)',
    '',
    table(
      ['call', 'callers', 'channels', 'events/s', 'raw pg/s', 'ratio', 'load'],
      results.writes.map((w) => [
        w.batch > 1 ? `${w.call} (${w.batch} a call)` : w.call,
        w.callers,
        w.channels,
        w.eventsPerSecond,
        w.baselinePerSecond,
        `${w.ratio}x`,
        w.load,
      ]),
    ),
    '',
    "**HTTP publish** (the bundled server's `POST /publish`, one event a request on one channel, keep-alive; baselines in the same run: one INSERT per transaction from as many clients, or `sendEvent` in process for one caller; the floor of any route that publishes: a bare `node:http` server in its own process calling `sendEvent`)",
    '',
    table(
      [
        'route',
        'callers',
        'events/s',
        'ms a request',
        'baseline',
        'baseline/s',
        'baseline ms',
        'ratio',
        'load',
      ],
      results.httpPublish.map((h) => [
        h.route,
        h.callers,
        h.eventsPerSecond,
        h.msPerRequest,
        h.baseline,
        h.baselinePerSecond,
        h.baselineMsPerCall,
        `${h.ratio}x`,
        h.load,
      ]),
    ),
    '',
    "**End-to-end delivery** (publish to client parse, ms; one channel; baseline of the Pushpin modes: bare-pushpin, a plain GRIP hold and publish, no database; of direct mode and nest-sse (Nest's `@Sse()` with a `Subject`): better-sse, in memory, published to in process as direct mode's `sendEvent` is; where modes ran several rounds, in turns, the round with the median p99 is shown, p99 vs baseline is the geometric mean of each round's p99 against the baseline's in the same turn, and loss and reconnects are of all rounds)",
    '',
    table(
      [
        'mode',
        'clients',
        'events/s',
        'p50',
        'p99',
        'max',
        'delivered/s',
        'lost',
        'p99 vs baseline',
        'p99 of each round',
        'reconnects',
        'load',
      ],
      results.delivery.map((d) => {
        // Through Pushpin against bare Pushpin; direct mode and Nest's @Sse() against better-sse.
        const against = d.mode.includes('pushpin') ? 'bare-pushpin' : 'better-sse';
        const bare = results.delivery.find(
          (b) => b.mode === against && b.clients === d.clients && b.perSecond === d.perSecond,
        );
        return [
          d.mode,
          d.clients,
          d.perSecond,
          d.p50Ms,
          d.p99Ms,
          d.maxMs,
          d.deliveredPerSecond,
          d.lost + d.outOfOrder,
          bare ? `${p99Ratio(d, bare).toFixed(2)}x` : '-',
          d.roundsP99Ms.join(', '),
          d.connectRetries,
          d.load,
        ];
      }),
    ),
    '',
    '**Replay** (direct mode, ms from request; baseline: raw pg pages of 1000 written as the same frames by node:http)',
    '',
    table(
      [
        'behind',
        'first event',
        'last event',
        'raw first',
        'raw last',
        'ratio',
        'peak RSS growth',
        'peak live growth',
        'streamed',
        'load',
      ],
      results.replay.map((r) => [
        r.behind,
        r.firstEventMs,
        r.lastEventMs,
        r.baselineFirstEventMs,
        r.baselineLastEventMs,
        `${r.ratio}x`,
        `${r.peakRssGrowthMiB} MiB`,
        `${r.peakLiveGrowthMiB} MiB`,
        `${r.streamedMiB} MiB`,
        r.load,
      ]),
    ),
    '',
    "**Memory per idle direct-mode stream** (server RSS growth, each server warmed up by 100 streams opened and closed, read after forced GC in a settled heap; baselines: better-sse, Nest's `@Sse()` and bare node:http holding SSE responses, measured the same way; ratio against better-sse)",
    '',
    table(
      [
        'streams',
        'KiB/stream',
        'heap KiB/stream',
        'better-sse KiB/stream',
        '@Sse() KiB/stream',
        'bare KiB/stream',
        'ratio',
        'load',
      ],
      results.memory.map((x) => [
        x.streams,
        kib(x.bytesPerStream),
        kib(x.heapBytesPerStream),
        kib(x.betterSseBytesPerStream),
        kib(x.nestSseBytesPerStream),
        kib(x.baselineBytesPerStream),
        `${x.ratio}x`,
        x.load,
      ]),
    ),
    '',
    '**Targets**',
    '',
    table(
      ['target', 'this run', 'met'],
      results.targets.map((t) => [
        t.target,
        t.figure,
        t.met === null ? 'not measured' : t.met ? 'yes' : 'no',
      ]),
    ),
    ...(results.errors.length > 0 ? ['', '**Errors**', '', ...results.errors] : []),
  ].join('\n');
}
