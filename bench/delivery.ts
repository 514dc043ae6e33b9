import type { RunningPushpin } from '../test/harness/pushpin';
import { load, percentile, round, sleep, until } from './measure';
import type { Scale } from './scale';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ServerProcess } from './server-control';
import type { EventTimes } from './server-protocol';
import { SseClient, type SseEvent } from './sse-load';

/**
 * `better-sse` and `nest-sse` are what a user writes instead of direct mode
 * (baseline-servers.ts): in memory, nothing stored.
 */
export type DeliveryMode = 'pushpin' | 'bare-pushpin' | 'direct' | 'better-sse' | 'nest-sse';

/** Direct mode and its baselines: the same client, load and in-process publishing. */
const DIRECT_MODES = ['direct', 'better-sse', 'nest-sse'] as const;
type DirectMode = (typeof DIRECT_MODES)[number];
/** Rounds of the direct modes, in turns, where the Pushpin modes run more. */
const DIRECT_ROUNDS = 3;
/** `--modes=direct,better-sse`: some modes only, while working on them. */
const onlyModes = process.argv
  .find((arg) => arg.startsWith('--modes='))
  ?.slice(8)
  .split(',');
/**
 * `BENCH_WINDOW_PROFILE=1`: a CPU profile of the server process over each
 * timed window of the direct modes (inspector, sampling every 250 µs), in
 * bench/results/profiles/; `bench/experiments/profile-top.js FILE` sums it up.
 */
const windowProfile = process.env.BENCH_WINDOW_PROFILE === '1';
let profiled = 0;
/** `--loads=1000x20`: some loads only (clients x events/s), while working on them. */
const onlyLoads = process.argv
  .find((arg) => arg.startsWith('--loads='))
  ?.slice(8)
  .split(',');
/** `--no-memory`: delivery only, without the idle-memory readings. */
const skipMemory = process.argv.includes('--no-memory');
/** Streams opened and closed before memory is first read, on every server measured. */
const WARM_UP_STREAMS = 100;

export interface DeliveryFigure {
  readonly mode: DeliveryMode;
  readonly clients: number;
  /** Events published per second on the clients' one channel. */
  readonly perSecond: number;
  readonly events: number;
  /** Publish (just before `sendEvent`, or the bare POST) to the client parsing the frame. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Deliveries per second, from the first publish to the last delivery. */
  readonly deliveredPerSecond: number;
  /** Deliveries expected but not received, and received out of order. */
  readonly lost: number;
  readonly outOfOrder: number;
  /**
   * Clients that had to connect again: Pushpin answered 502 or 500, or closed the stream (see
   * connectClients).
   */
  readonly connectRetries: number;
  /**
   * Requests the server took while the timed events went out: through
   * Pushpin, its calls to the origin (next links, recovery after a gap).
   */
  readonly originRequests: number;
  readonly load: number;
  /**
   * The p99 of every round of this mode, one a turn, in the order they ran;
   * this figure (p50, p99, max) is the round with the median p99's.
   */
  readonly roundsP99Ms: readonly number[];
  /**
   * Direct mode, timed in the server: from just before `sendEvent` to the
   * commit heard, and from there to the last stream's write (p50 and p99).
   */
  readonly phases?: {
    readonly commitMs: readonly [number, number];
    readonly fanOutMs: readonly [number, number];
    /** How late the server's event loop ran while the timed events went out. */
    readonly loopDelayMs: readonly [number, number];
  };
  /**
   * Direct mode and its baselines: the deliveries at or above the p99, each
   * split into send to commit (the baselines commit nothing: 0), commit to
   * the last stream's write, and from there to the client's parse; the mean
   * of each part over them (ms), and the server's CPU time per event (µs).
   */
  readonly tail?: {
    readonly commitMs: number;
    readonly fanOutMs: number;
    readonly clientMs: number;
    readonly serverCpuMicrosPerEvent: number;
    /** Per event, commit to the last stream's write: the fan-out alone (p50, p99). */
    readonly fanOutPerEventMs: readonly [number, number];
  };
}

export interface MemoryFigure {
  readonly streams: number;
  /** Server RSS growth per idle stream: the library in direct mode. */
  readonly bytesPerStream: number;
  readonly heapBytesPerStream: number;
  /** The same with a bare `node:http` server holding SSE responses. */
  readonly baselineBytesPerStream: number;
  /** The same with better-sse on `node:http`, and with Nest's `@Sse()`. */
  readonly betterSseBytesPerStream: number;
  readonly nestSseBytesPerStream: number;
  /** Ours against better-sse's. */
  readonly ratio: number;
  readonly load: number;
}

interface MemoryReading {
  bytesPerStream?: number;
  heapBytesPerStream?: number;
}

const PADDING = 'x'.repeat(64);
const CONNECTING_AT_ONCE = 50;

interface Connected {
  readonly clients: SseClient[];
  /** Per client: the last seq received. */
  readonly lastSeq: Int32Array;
  outOfOrder: number;
  /** Connections tried again: refused (502, 500), or closed by Pushpin before or after they opened. */
  retries: number;
  /** Closes every client and stops any retry still to come. */
  close(): void;
}

const seqOf = (event: SseEvent) => Number(event.id.slice(event.id.lastIndexOf(':') + 1));

/**
 * Connects `count` clients, a bounded number at a time, and waits for each one's `stream-open`.
 * A client whose connection is refused or closed tries again, as an EventSource would (from
 * its last event id), at most five times; every retry is counted.
 */
async function connectClients(
  count: number,
  port: number,
  path: string,
  onTick: (client: number, event: SseEvent) => void,
): Promise<Connected> {
  let stopped = false;
  const connected: Connected = {
    clients: [],
    lastSeq: new Int32Array(count),
    outOfOrder: 0,
    retries: 0,
    close: () => {
      stopped = true;
      connected.clients.forEach((client) => client.close());
    },
  };
  const lastEventId: string[] = [];
  let opened = 0;
  let failed: string | undefined;
  const waiting: (() => void)[] = [];
  const open = (index: number, attempt: number) => {
    if (stopped) return;
    let isOpen = false;
    connected.clients[index] = new SseClient({
      port,
      path,
      lastEventId: lastEventId[index],
      onEvent: (event) => {
        if (event.type === 'stream-open') {
          isOpen = true;
          opened++;
          waiting.shift()?.();
          return;
        }
        if (event.type !== 'tick') return;
        const seq = seqOf(event);
        if (seq !== connected.lastSeq[index] + 1 && connected.lastSeq[index] !== 0) {
          connected.outOfOrder++;
        }
        connected.lastSeq[index] = seq;
        lastEventId[index] = event.id;
        onTick(index, event);
      },
      onClose: (client, error) => {
        // Pushpin answers 502 when a pooled connection to the origin turns
        // out dead (the previous run's server had the same port), and 500
        // "Accept service unavailable" when its handler falls behind with
        // new streams. And Pushpin before 1.41 closes a stream now and then
        // just after it opened: its connection manager (condure) sends a
        // keep-alive to pushpin-proxy after it handed the connection over to
        // pushpin-handler, which then sees a gap in the message sequence,
        // logs "received message out of sequence, canceling" and drops the
        // client (fastly/pushpin#48072, fixed in 1.41). The more streams open
        // at once, the more often. A client tries again, as an EventSource
        // would, and the retry is counted.
        if (stopped) return;
        const refused = client.status === 502 || client.status === 500;
        if ((refused || client.status === 200) && attempt < 5) {
          if (isOpen) opened--;
          connected.retries++;
          setTimeout(() => open(index, attempt + 1), 200 * (attempt + 1));
          return;
        }
        failed ??=
          client.status === 200
            ? `client ${index} closed: ${error?.message ?? 'by the server'}`
            : `client ${index} got status ${client.status}: ${client.errorBody}`;
        waiting.splice(0).forEach((wake) => wake());
      },
    });
  };
  try {
    for (let index = 0; index < count; index++) {
      while (index - opened >= CONNECTING_AT_ONCE && !failed) {
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      if (failed) break;
      open(index, 0);
    }
    await until(() => opened >= count || failed !== undefined, 120_000, `${count} clients to open`);
    if (failed) throw new Error(failed);
  } catch (error) {
    connected.close();
    throw error;
  }
  return connected;
}

/** Waits until the server has taken no request for `quietMs` (Pushpin's recovery calls). */
async function settle(server: ServerProcess, quietMs = 1_000): Promise<void> {
  let last = (await server.stats()).requests;
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    await sleep(200);
    const now = (await server.stats()).requests;
    if (now !== last) quietSince = Date.now();
    last = now;
  }
}

export interface DeliveryContext {
  readonly databaseUrl: string;
  readonly pushpin: RunningPushpin;
  /** The port Pushpin routes to. */
  readonly backendPort: number;
  readonly scale: Scale;
  readonly log: (line: string) => void;
}

/**
 * One delivery run: a fresh server, `clients` SSE clients on one channel,
 * `perSecond` timed events for the run's length, every delivery timed.
 */
async function deliveryRun(
  context: DeliveryContext,
  mode: DeliveryMode,
  clients: number,
  perSecond: number,
  /** Measure memory per idle stream into this. */
  memory?: MemoryReading,
): Promise<DeliveryFigure> {
  const { pushpin } = context;
  const channel = `${mode}-${clients}-${Date.now()}`;
  const baseline = mode === 'better-sse' || mode === 'nest-sse' ? mode : undefined;
  const proxied = mode === 'pushpin' || mode === 'bare-pushpin';
  const started = await ServerProcess.start(
    {
      databaseUrl: context.databaseUrl,
      app: mode === 'pushpin' || mode === 'direct',
      appPort: proxied ? context.backendPort : undefined,
      gripUrl: mode === 'pushpin' ? pushpin.gripUrl : undefined,
      baseline,
    },
    `delivery-${mode}-${clients}`,
  );
  const { server } = started;
  const port = proxied ? Number(new URL(pushpin.url).port) : started.appPort!;
  const path =
    mode === 'bare-pushpin'
      ? `/grip-hold?channel=${channel}`
      : baseline
        ? `/sse?channel=${encodeURIComponent(channel)}`
        : `/events?channel=${encodeURIComponent(channel)}`;
  const count = Math.max(1, Math.round(perSecond * context.scale.deliverySeconds));
  const latencies = new Float64Array(clients * count);
  /** Per delivery: its event's seq, for the server's times of that event. */
  const sampleSeqs = new Int32Array(clients * count);
  let samples = 0;
  let lastReceived = 0;
  let connected: Connected | undefined;
  try {
    const before = memory ? await warmedUpMemory(server, port, path) : undefined;
    connected = await connectClients(clients, port, path, (_client, event) => {
      const now = process.hrtime.bigint();
      lastReceived = performance.now();
      const sent = /"t":"(\d+)"/.exec(event.data)?.[1];
      const seq = seqOf(event);
      if (sent && seq > 1) {
        sampleSeqs[samples] = seq;
        latencies[samples++] = Number(now - BigInt(sent)) / 1e6;
      }
    });
    await settle(server);
    if (memory && before) {
      const after = await server.memory({ settled: true });
      memory.bytesPerStream = (after.rss - before.rss) / clients;
      memory.heapBytesPerStream = (after.heapUsed - before.heapUsed) / clients;
    }
    // A first event, untimed, shows every client is live before the clock starts.
    const publish = (n: number) =>
      mode === 'bare-pushpin'
        ? server.call({
            cmd: 'publish-bare',
            publishUrl: pushpin.publishUrl,
            channel,
            count: n,
            perSecond,
            padding: PADDING,
          })
        : server.call({ cmd: 'send', channel, count: n, perSecond, padding: PADDING });
    let timedFrom: number;
    const all = connected;
    const requestsBefore = (await server.stats()).requests;
    if (mode === 'bare-pushpin') {
      // Bare publishes number their own ids from 1: one call, the first untimed.
      timedFrom = performance.now();
      await publish(count + 1);
    } else {
      await publish(1);
      await until(() => all.lastSeq.every((seq) => seq >= 1), 30_000, 'the first event');
      // Times in the server from here on only.
      if (mode === 'direct') await server.call({ cmd: 'phases' });
      if (baseline || mode === 'direct') {
        await server.call({ cmd: 'event-times' });
        if (windowProfile) await server.call({ cmd: 'profile-start', intervalMicros: 250 });
      }
      timedFrom = performance.now();
      await publish(count);
    }
    // Whatever has not arrived by then counts as lost.
    await until(() => all.lastSeq.every((seq) => seq >= count + 1), 15_000, 'every event').catch(
      () => undefined,
    );
    let tail: DeliveryFigure['tail'];
    if (baseline || mode === 'direct') {
      const times = (await server.call({ cmd: 'event-times' })) as EventTimes;
      if (windowProfile) {
        const dir = join(process.cwd(), 'bench', 'results', 'profiles');
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `window-${mode}-${clients}-${profiled++}.cpuprofile`);
        await server.call({ cmd: 'profile-stop', file });
        context.log(`profile of the timed window: ${file}`);
      }
      tail = tailOf(latencies.subarray(0, samples), sampleSeqs, times);
    }
    const originRequests = (await server.stats()).requests - requestsBefore;
    const phases =
      mode === 'direct'
        ? ((await server.call({ cmd: 'phases' })) as Record<
            'commitMs' | 'fanOutMs' | 'loopDelayMs',
            number[]
          >)
        : undefined;
    const p50p99 = (values: number[]): [number, number] => {
      const sorted = Float64Array.from(values).sort();
      return [round(percentile(sorted, 50)), round(percentile(sorted, 99))];
    };
    const sorted = latencies.subarray(0, samples).sort();
    const p99Ms = round(percentile(sorted, 99));
    const received = samples;
    const span = (lastReceived - timedFrom) / 1000;
    return {
      mode,
      clients,
      perSecond,
      events: count,
      p50Ms: round(percentile(sorted, 50)),
      p99Ms,
      maxMs: round(sorted[sorted.length - 1] ?? NaN),
      deliveredPerSecond: Math.round(received / span),
      lost: clients * count - received,
      outOfOrder: connected.outOfOrder,
      connectRetries: connected.retries,
      originRequests,
      load: load(),
      roundsP99Ms: [p99Ms],
      ...(tail && { tail }),
      ...(phases && {
        phases: {
          commitMs: p50p99(phases.commitMs),
          fanOutMs: p50p99(phases.fanOutMs),
          loopDelayMs: [round(phases.loopDelayMs[0]), round(phases.loopDelayMs[1])],
        },
      }),
    };
  } finally {
    connected?.close();
    await server.stop();
  }
}

/**
 * Memory before the idle streams come, the same way on every server: after
 * {@link WARM_UP_STREAMS} streams have opened and closed (so each has loaded
 * and compiled what a stream needs, e.g. the library's first head read and
 * Nest's router), in a settled heap (a forced GC each second until the heap
 * keeps one size; see server.ts). The reading after the streams is settled
 * the same way.
 */
async function warmedUpMemory(server: ServerProcess, port: number, path: string) {
  const warmUp = await connectClients(WARM_UP_STREAMS, port, path, () => undefined);
  warmUp.close();
  await until(
    async () => {
      const { streams, held } = await server.stats();
      return streams + held === 0;
    },
    10_000,
    'the warm-up streams to close',
  );
  return server.memory({ settled: true });
}

/** Clients held by a bare `node:http` server: the floor of memory per stream. */
async function baselineMemory(context: DeliveryContext, streams: number): Promise<number> {
  const { server, rawPort } = await ServerProcess.start({
    databaseUrl: context.databaseUrl,
    app: false,
  });
  let connected: Connected | undefined;
  try {
    // Measured as ours is: warmed up, in a settled heap.
    const before = await warmedUpMemory(server, rawPort, '/hold');
    connected = await connectClients(streams, rawPort, '/hold', () => undefined);
    const after = await server.memory({ settled: true });
    return (after.rss - before.rss) / streams;
  } finally {
    connected?.close();
    await server.stop();
  }
}

/**
 * The deliveries at or above the p99, split by the server's times of their
 * event: what the tail is made of (see {@link DeliveryFigure.tail}).
 */
function tailOf(
  latencies: Float64Array,
  seqs: Int32Array,
  times: EventTimes,
): NonNullable<DeliveryFigure['tail']> {
  const bySeq = new Map<number, number>();
  times.seq.forEach((seq, index) => bySeq.set(seq, index));
  const p99 = percentile(Float64Array.from(latencies).sort(), 99);
  let count = 0;
  let commit = 0;
  let fanOut = 0;
  let client = 0;
  latencies.forEach((latency, index) => {
    const at = bySeq.get(seqs[index]);
    if (latency < p99 || at === undefined) return;
    const commitMs = (times.committed[at] - times.sent[at]) / 1e6;
    const fanOutMs = (times.written[at] - times.committed[at]) / 1e6;
    count++;
    commit += commitMs;
    fanOut += fanOutMs;
    client += latency - commitMs - fanOutMs;
  });
  const fanOuts = Float64Array.from(
    times.written.map((written, index) => (written - times.committed[index]) / 1e6),
  ).sort();
  return {
    fanOutPerEventMs: [round(percentile(fanOuts, 50)), round(percentile(fanOuts, 99))],
    commitMs: round(commit / count),
    fanOutMs: round(fanOut / count),
    clientMs: round(client / count),
    serverCpuMicrosPerEvent: Math.round((times.cpuMicros ?? NaN) / times.seq.length),
  };
}

/**
 * The run with the median p99, with every run's p99 and the loss of all of
 * them: a loss in any round counts.
 */
function medianRun(figures: readonly DeliveryFigure[]): DeliveryFigure {
  const median = [...figures].sort((a, b) => a.p99Ms - b.p99Ms)[Math.floor(figures.length / 2)];
  const sum = (field: 'lost' | 'outOfOrder' | 'connectRetries') =>
    figures.reduce((total, figure) => total + figure[field], 0);
  return {
    ...median,
    lost: sum('lost'),
    outOfOrder: sum('outOfOrder'),
    connectRetries: sum('connectRetries'),
    roundsP99Ms: figures.map((figure) => figure.p99Ms),
  };
}

/** Streams Pushpin has dropped just after they opened, by its log (see connectClients). */
async function handoffDrops(pushpin: RunningPushpin): Promise<number> {
  const logs = await pushpin.logs();
  return logs.match(/zhttp server: error id=\S+ received message out of sequence/g)?.length ?? 0;
}

/**
 * End-to-end delivery through Pushpin, through bare Pushpin (the proxy's own
 * floor: a plain GRIP hold and plain publishes, no database), in direct mode,
 * and with better-sse and Nest's `@Sse()` (what a user writes instead of
 * direct mode); memory per idle stream of direct mode and those two, against
 * a bare `node:http` holder.
 */
export async function benchDelivery(
  context: DeliveryContext,
): Promise<{ delivery: DeliveryFigure[]; memory: MemoryFigure[] }> {
  const delivery: DeliveryFigure[] = [];
  const memory: MemoryFigure[] = [];
  const run = async (
    mode: DeliveryMode,
    clients: number,
    perSecond: number,
    measured?: MemoryReading,
  ) => {
    const dropsBefore = await handoffDrops(context.pushpin);
    const figure = await deliveryRun(context, mode, clients, perSecond, measured);
    const drops = (await handoffDrops(context.pushpin)) - dropsBefore;
    const kib = measured?.bytesPerStream && (measured.bytesPerStream / 1024).toFixed(1);
    context.log(
      `delivery ${mode} ${clients} clients x ${perSecond}/s: p50 ${figure.p50Ms} ms, ` +
        `p99 ${figure.p99Ms} ms, lost ${figure.lost}, reconnects ${figure.connectRetries} ` +
        `(${drops} dropped by Pushpin at handoff), ${figure.originRequests} requests to the ` +
        `server during the run, load ${figure.load}${kib ? `, ${kib} KiB a stream` : ''}` +
        (figure.tail
          ? `; the deliveries at or above p99, mean: send to commit ${figure.tail.commitMs} ms, ` +
            `commit to last write ${figure.tail.fanOutMs} ms, to the client's parse ` +
            `${figure.tail.clientMs} ms; server CPU ${figure.tail.serverCpuMicrosPerEvent} µs an event, ` +
            `fan-out p50/p99 ${figure.tail.fanOutPerEventMs.join('/')} ms`
          : '') +
        (figure.phases
          ? `; in the server, send to commit p50/p99 ${figure.phases.commitMs.join('/')} ms, ` +
            `commit to last write ${figure.phases.fanOutMs.join('/')} ms, ` +
            `event-loop delay ${figure.phases.loopDelayMs.join('/')} ms`
          : ''),
    );
    return figure;
  };
  for (const { clients, perSecond, rounds } of context.scale.delivery) {
    if (onlyLoads && !onlyLoads.includes(`${clients}x${perSecond}`)) continue;
    // Latency at a given load comes in modes that last a whole run, for the
    // baselines as for the library, and drifts over minutes: each mode runs
    // in turns with its baseline, and is compared with the baseline's round
    // of the same turn (report.ts, p99Ratio).
    const runs = new Map<DeliveryMode, DeliveryFigure[]>();
    const add = async (mode: DeliveryMode, measured?: MemoryReading) => {
      if (onlyModes && !onlyModes.includes(mode)) return;
      runs.set(mode, [...(runs.get(mode) ?? []), await run(mode, clients, perSecond, measured)]);
    };
    const measureMemory = !skipMemory && context.scale.memoryStreams.includes(clients);
    const readings = new Map<DirectMode, MemoryReading>();
    for (let turn = 0; turn < rounds; turn++) {
      // Each turn's rounds form a pair (or a triple) for the comparison; the
      // order flips every turn, so that neither mode always runs first.
      const inTurn = <T>(modes: readonly T[]) => (turn % 2 === 0 ? modes : [...modes].reverse());
      for (const mode of inTurn(['bare-pushpin', 'pushpin'] as const)) await add(mode);
      if (turn >= DIRECT_ROUNDS) continue;
      for (const mode of inTurn(DIRECT_MODES)) {
        const reading: MemoryReading | undefined = measureMemory && turn === 0 ? {} : undefined;
        if (reading) readings.set(mode, reading);
        await add(mode, reading);
      }
    }
    for (const figures of runs.values()) delivery.push(medianRun(figures));
    if (measureMemory) {
      const perStream = (mode: DirectMode) => readings.get(mode)?.bytesPerStream ?? NaN;
      const baseline = await baselineMemory(context, clients);
      memory.push({
        streams: clients,
        bytesPerStream: Math.round(perStream('direct')),
        heapBytesPerStream: Math.round(readings.get('direct')?.heapBytesPerStream ?? NaN),
        baselineBytesPerStream: Math.round(baseline),
        betterSseBytesPerStream: Math.round(perStream('better-sse')),
        nestSseBytesPerStream: Math.round(perStream('nest-sse')),
        ratio: round(perStream('direct') / perStream('better-sse')),
        load: load(),
      });
    }
  }
  return { delivery, memory };
}
