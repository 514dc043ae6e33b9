/**
 * The server side of the delivery, replay and memory benchmarks, in a
 * process of its own so its memory and CPU are its own: the library's app
 * (direct or GRIP mode) and the baselines (plain `pg` + `node:http`), driven
 * by the benchmark through IPC (see server-control.ts).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool } from 'pg';
import { encodeFrame, STREAM_OPEN } from '../src/eventstream/sse/sse-frames';
import { startHttpApp, type HttpApp } from '../test/harness/http-app';
import { startBaseline, type BaselineServer } from './baseline-servers';
import type { EventTimes, ServerCommand, ServerReply, StartOptions } from './server-protocol';

let app: HttpApp | undefined;
let baseline: BaselineServer | undefined;
/** The last seq sent on each channel by a baseline server, which numbers its own events. */
const baselineSeqs = new Map<string, number>();
let raw: Server | undefined;
let pool: Pool | undefined;
let requests = 0;
const held = new Set<ServerResponse>();

const gc = (globalThis as { gc?: () => void }).gc;

/** Payload of a timed event: the send time on the monotonic clock all processes share. */
function timedPayload(padding: string): { t: string; p: string } {
  return { t: process.hrtime.bigint().toString(), p: padding };
}

async function start(options: StartOptions): Promise<{ appPort?: number; rawPort: number }> {
  pool = new Pool({ connectionString: options.databaseUrl, max: 4 });
  if (options.app) {
    app = await startHttpApp({
      port: options.appPort,
      options: {
        databaseUrl: options.databaseUrl,
        keepAliveMs: 20_000,
        ...(options.gripUrl ? { grip: { url: options.gripUrl } } : {}),
      },
      configure: (nest) =>
        nest.use((_request: unknown, _response: unknown, next: () => void) => {
          requests++;
          next();
        }),
    });
  }
  if (options.baseline) baseline = await startBaseline(options.baseline, options.appPort);
  if (app && !options.gripUrl) {
    timePhases(app);
    loopDelay.enable();
  }
  // Behind a proxy that pools connections, a server must not close idle ones
  // before the proxy does, or a request may meet a connection closing.
  if (app) (app.app.getHttpServer() as Server).keepAliveTimeout = 60_000;
  raw = createServer((request, response) => void serveRaw(request, response));
  raw.keepAliveTimeout = 60_000;
  const rawPort = options.app || baseline ? 0 : (options.appPort ?? 0);
  await new Promise<void>((resolve) => raw!.listen(rawPort, '127.0.0.1', resolve));
  const address = raw.address();
  return {
    appPort: app ? Number(new URL(app.baseUrl).port) : baseline?.port,
    rawPort: typeof address === 'object' && address ? address.port : 0,
  };
}

/**
 * The baselines: what the same work costs with nothing of the library.
 * - `/hold`: a bare SSE response that is held open (memory floor).
 * - `/grip-hold?channel=`: a bare GRIP hold, so Pushpin's own delivery can be timed.
 * - `/replay?channel=&after=`: the rows read with plain `pg`, in pages of 1000,
 *   written as the same SSE frames.
 */
async function serveRaw(request: IncomingMessage, response: ServerResponse): Promise<void> {
  requests++;
  const url = new URL(request.url ?? '/', 'http://x');
  const channel = url.searchParams.get('channel') ?? '';
  const sse = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };
  if (url.pathname === '/hold') {
    response.writeHead(200, sse);
    response.write(STREAM_OPEN);
    held.add(response);
    response.on('close', () => held.delete(response));
    return;
  }
  if (url.pathname === '/grip-hold') {
    response.writeHead(200, { ...sse, 'Grip-Hold': 'stream', 'Grip-Channel': channel });
    response.end(STREAM_OPEN);
    return;
  }
  if (url.pathname === '/replay') {
    response.writeHead(200, sse);
    response.write(STREAM_OPEN);
    let after = Number(url.searchParams.get('after') ?? 0);
    for (;;) {
      const { rows } = await pool!.query<{ seq: string; type: string; data: string }>(
        'SELECT seq, type, data::text AS data FROM eventstream.events ' +
          'WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT 1000',
        [channel, after],
      );
      let text = '';
      for (const row of rows) {
        text += encodeFrame({ event: row.type, id: `${channel}:${row.seq}`, data: row.data });
      }
      if (rows.length > 0) after = Number(rows[rows.length - 1].seq);
      if (!response.write(text)) {
        await new Promise((resolve) => response.once('drain', resolve));
      }
      if (rows.length < 1000) break;
    }
    response.end();
    return;
  }
  response.writeHead(404).end();
}

/** Direct mode: per event, send to commit, and the fan-out to this instance's streams. */
const phases = { commitMs: [] as number[], fanOutMs: [] as number[] };
/** Every mode but the Pushpin ones: when each event was sent, committed and written. */
let eventTimes: EventTimes = { seq: [], sent: [], committed: [], written: [] };
let cpuSince = process.cpuUsage();
const noteEvent = (seq: number, sent: bigint, committed: bigint, written: bigint) => {
  eventTimes.seq.push(seq);
  eventTimes.sent.push(Number(sent));
  eventTimes.committed.push(Number(committed));
  eventTimes.written.push(Number(written));
};
/**
 * How late the event loop ran meanwhile: a commit's answer waits in its
 * socket while the loop is busy, so this tells the server's own share of
 * "send to commit" from the database's.
 */
const loopDelay = monitorEventLoopDelay({ resolution: 5 });

/**
 * Times the steps of a send in direct mode, by wrapping the hub: from just
 * before `sendEvent` (the time in the payload) to the hub hearing of the
 * commit, and from there to the last stream's write of it (streams that keep
 * up write in that same turn).
 */
function timePhases({ hub }: HttpApp): void {
  const committed = hub.committed.bind(hub);
  const onHead = hub.onHead.bind(hub);
  let heard: { at: bigint; sent: bigint[]; seqs: number[] } | undefined;
  hub.committed = (events) => {
    const at = process.hrtime.bigint();
    const sent = events.map(({ json }) => BigInt(/"t":"(\d+)"/.exec(json)?.[1] ?? at));
    heard = { at, sent, seqs: events.map(({ seq }) => seq) };
    committed(events);
  };
  // The commit's own announcement comes right after: that call is the fan-out.
  hub.onHead = (channel, seq) => {
    onHead(channel, seq);
    if (!heard) return;
    const written = process.hrtime.bigint();
    heard.sent.forEach((sent, i) => {
      phases.commitMs.push(Number(heard!.at - sent) / 1e6);
      phases.fanOutMs.push(Number(written - heard!.at) / 1e6);
      noteEvent(heard!.seqs[i], sent, heard!.at, written);
    });
    heard = undefined;
  };
}

/**
 * Sends `count` timed events at `perSecond`, each on its own schedule: through
 * the library's `sendEvent`, or straight to a baseline server's streams.
 */
async function send(channel: string, count: number, perSecond: number, padding: string) {
  const publish = baseline
    ? (payload: object) => {
        const seq = (baselineSeqs.get(channel) ?? 0) + 1;
        baselineSeqs.set(channel, seq);
        const sent = BigInt((payload as { t: string }).t);
        baseline!.publish(channel, 'tick', `${channel}:${seq}`, payload);
        noteEvent(seq, sent, sent, process.hrtime.bigint());
        return Promise.resolve();
      }
    : (payload: object) => app!.events.sendEvent(channel, 'tick', payload);
  const started = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(publish(timedPayload(padding)));
  }
  await Promise.all(sends);
}

/**
 * The same schedule straight to Pushpin's publish API: one POST per event,
 * with the frame the library would send (ids chained per channel so Pushpin
 * orders them), and no database.
 */
async function publishBare(
  publishUrl: string,
  channel: string,
  count: number,
  perSecond: number,
  padding: string,
) {
  const started = performance.now();
  const posts: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const seq = i + 1;
    const content = encodeFrame({
      event: 'tick',
      id: `${channel}:${seq}`,
      data: JSON.stringify(timedPayload(padding)),
    });
    const item = { channel, id: String(seq), 'prev-id': String(seq - 1) };
    const body = JSON.stringify({ items: [{ ...item, formats: { 'http-stream': { content } } }] });
    posts.push(
      fetch(`${publishUrl}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      }).then(async (response) => {
        await response.text();
        if (!response.ok) throw new Error(`publish answered ${response.status}`);
      }),
    );
  }
  await Promise.all(posts);
}

let peakRss = 0;
let sampler: NodeJS.Timeout | undefined;

/**
 * Memory after GC; `settled`, once V8 has also given back what a burst of
 * work left it holding. Right after a burst (10,000 clients connecting), a
 * full GC frees the garbage, but the young generation keeps its grown size
 * (about 30 MiB) and old-space pages stay partly empty; V8's memory reducer
 * compacts and shrinks them 5 to 10 s later if the process is quiet. Until
 * then RSS is tens of MiB higher or not depending on whether it has run yet,
 * which is tens of KiB a stream at 1,000 streams: idle streams are measured
 * in a settled heap. So: a GC each second until the heap has kept one size
 * for 3 s, after at least 10 s and at most 20 s.
 */
async function memory(settled: boolean) {
  gc?.();
  gc?.();
  if (settled && gc) {
    const started = Date.now();
    const sizes: number[] = [];
    while (Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      gc();
      sizes.push(process.memoryUsage().heapTotal);
      const last = sizes.slice(-3);
      const steady = last.length === 3 && last.every((size) => size === last[0]);
      if (steady && Date.now() - started >= 10_000) break;
    }
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external };
}

/**
 * What the process holds, not what its allocator has grown to: the heap and
 * the buffers outside it (socket writes), after a full collection.
 */
function liveBytes(): number {
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

let peakLive = 0;
/** The inspector session of a profile of the timed window (`profile-start`). */
let profiler: Session | undefined;

async function handle(command: ServerCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'start':
      return start(command.options);
    case 'send':
      return send(command.channel, command.count, command.perSecond, command.padding);
    case 'publish-bare':
      return publishBare(
        command.publishUrl,
        command.channel,
        command.count,
        command.perSecond,
        command.padding,
      );
    case 'phases': {
      const taken = {
        commitMs: phases.commitMs,
        fanOutMs: phases.fanOutMs,
        loopDelayMs: [loopDelay.percentile(50) / 1e6, loopDelay.percentile(99) / 1e6],
      };
      phases.commitMs = [];
      phases.fanOutMs = [];
      loopDelay.reset();
      return taken;
    }
    case 'event-times': {
      const cpu = process.cpuUsage(cpuSince);
      cpuSince = process.cpuUsage();
      const taken = { ...eventTimes, cpuMicros: cpu.user + cpu.system };
      eventTimes = { seq: [], sent: [], committed: [], written: [] };
      return taken;
    }
    case 'profile-start':
      profiler ??= new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: command.intervalMicros });
      await profiler.post('Profiler.start');
      return null;
    case 'profile-stop': {
      const { profile } = await profiler!.post('Profiler.stop');
      profiler!.disconnect();
      profiler = undefined;
      await writeFile(command.file, JSON.stringify(profile));
      return null;
    }
    case 'stats':
      return {
        requests,
        streams: app?.hub.size ?? baseline?.streams() ?? 0,
        held: held.size,
      };
    case 'memory':
      return memory(command.settled === true);
    case 'watch-rss': {
      clearInterval(sampler);
      peakRss = process.memoryUsage.rss();
      sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 10);
      return peakRss;
    }
    case 'peak-rss':
      clearInterval(sampler);
      return Math.max(peakRss, process.memoryUsage.rss());
    case 'watch-live': {
      clearInterval(sampler);
      peakLive = liveBytes();
      // A full collection every 50 ms: slower, so this run is not timed.
      sampler = setInterval(() => (peakLive = Math.max(peakLive, liveBytes())), 50);
      return peakLive;
    }
    case 'peak-live':
      clearInterval(sampler);
      return Math.max(peakLive, liveBytes());
    case 'stop':
      for (const response of held) response.destroy();
      await app?.close();
      await baseline?.close();
      raw?.closeAllConnections();
      await new Promise((resolve) => raw?.close(resolve));
      await pool?.end();
      return null;
  }
}

process.on('message', (message: { id: number; command: ServerCommand }) => {
  handle(message.command).then(
    (result) => process.send!({ id: message.id, result } satisfies ServerReply),
    (error: unknown) =>
      process.send!({
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies ServerReply),
  );
});

// The benchmark disconnects once it has stopped the server; exiting is what
// writes a CPU profile when one is asked for.
process.on('disconnect', () => process.exit(0));
