/**
 * Experiment: what each part of the library's GRIP hold and publish costs
 * Pushpin, against the bare floor. Toy origins that differ from the bare
 * baseline in one thing each, the same Pushpin, the same clients and the same
 * publish schedule (one POST per event), runs interleaved.
 *
 *   node dist/bench/bench/experiments/grip-variants.js CLIENTS PER_SECOND SECONDS ROUNDS [VARIANTS]
 *
 * Prints per run: latency (publish to client parse), loss, and CPU ms of each
 * process (Pushpin's services, the origin, the clients). Built by `npm run bench`
 * (`-- --quick --only=writes` builds it and returns soon). What it found, at
 * 1,000 clients x 20 events/s on 2 cores: in Pushpin 1.36, keep-alives in
 * their default idle mode together with a next link doubled the p99 latency
 * (the stream's keep-alive timer restarted on every delivery): p50/p99
 * 59-92/131-162 ms in 6 of 7 runs against the bare 29-42/45-106, while
 * `mode=interval` kept to 31-38/51-64 ms (README, Benchmarks). With that,
 * the build-id filter still cost Pushpin's handler about a tenth more CPU
 * than the bare hold, and runs were slow now and then (library: p50 30-42,
 * p99 52-129 ms over 4 quiet runs); `library-literal` (ids in the content,
 * no filter, as the library now holds single-channel streams) ran as bare:
 * p50 28 ms, p99 49-93 ms, against bare 25-30 and 44-63 ms.
 *
 * The library also publishes each event a second time for streams of several
 * channels (a build-id item on a name no single-channel stream holds) and keeps
 * one POST in flight: `library-serial` and `library-pair` model that, and
 * `postP50`/`postP99` time each POST. Over 4 interleaved runs, p99 53-79 ms
 * with one item and 58-108 ms with both (medians 59 and 61), posts 4.4 and
 * 4.7 ms at p50: the second item costs Pushpin nothing measurable. Every
 * variant's posts take 40-60 ms at p99 under this load (2.7 ms p50, 6-8 p99
 * with one client): Pushpin answers a publish when its handler, busy fanning
 * out, gets to it.
 *
 * Those runs stamped each event only once the POST before it had returned,
 * which hid the wait in the queue. Now the serial variants queue as the
 * library does (what comes meanwhile goes in the next POST) and stamp each
 * event when it is due: over 4 interleaved runs, `library-serial` had p99
 * 52-113 ms (median about 75) against 49-89 (about 55) for `library-literal`,
 * whose POSTs go at once. The library with four POSTs in flight per proxy
 * measured no better, though: 1.38x of the floor in a delivery-only run of
 * the benchmark, within the 0.95-1.38x of one in flight.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort } from '../../src/server/free-port';
import { STREAM_OPEN, encodeFrame } from '../../src/eventstream/sse/sse-frames';
import { processesOf, startPushpin } from '../../test/harness/pushpin';
import { percentile, round, sleep, until } from '../measure';
import { SseClient } from '../sse-load';

interface Variant {
  readonly buildId: boolean;
  readonly prevId: boolean;
  readonly link: boolean;
  readonly keepAlive: boolean;
  readonly user: boolean;
  /** A next link as long as the library's (its token in the query). */
  readonly longLink?: boolean;
  /** Keep-alives every `timeout` seconds whatever is sent (`mode=interval`), not after that long idle. */
  readonly interval?: boolean;
  /** Each POST also carries a build-id item for a name nobody holds, as the library's do for streams of several channels. */
  readonly pair?: boolean;
  /** One POST in flight, and what comes meanwhile goes together in the next, as the library's queue per proxy. */
  readonly serial?: boolean;
}

// Pushpin refuses a prev-id without a next link, and build-id needs prev-ids.
/** What the library's GRIP replies hold a stream with. */
const LIBRARY: Variant = {
  buildId: true,
  prevId: true,
  link: true,
  keepAlive: true,
  user: false,
  interval: true,
};
const VARIANTS: Record<string, Variant> = {
  bare: { buildId: false, prevId: false, link: false, keepAlive: false, user: false },
  keepalive: { buildId: false, prevId: false, link: false, keepAlive: true, user: false },
  link: { buildId: false, prevId: true, link: true, keepAlive: false, user: false },
  buildid: { buildId: true, prevId: true, link: true, keepAlive: false, user: false },
  user: { buildId: false, prevId: true, link: true, keepAlive: false, user: true },
  library: LIBRARY,
  'library-user': { ...LIBRARY, user: true },
  /** The library before its keep-alives went to `mode=interval`. */
  'library-idle': { ...LIBRARY, interval: false },
  'library-longlink': { ...LIBRARY, longLink: true },
  /** Literal ids in the published frames, no build-id filter. */
  'library-literal': { ...LIBRARY, buildId: false },
  /** What the library publishes now: the literal item and a build-id one for `events-…`, one POST at a time. */
  'library-pair': { ...LIBRARY, buildId: false, pair: true, serial: true },
  'library-serial': { ...LIBRARY, buildId: false, serial: true },
};
const TOKEN = `es-meta=${'eyJhbGciOiJIUzI1NiJ9'.repeat(14)}&recover=true`;

/** As bench/main.ts (which cannot be imported: it runs on load). */
const PUSHPIN_SETTINGS = { message_rate: 100_000, message_hwm: 1_000_000 };

// ---------------------------------------------------------------- origin side

function holdHeaders(
  variant: Variant,
  channel: string,
  lastId: number,
  client: string,
): Record<string, string> {
  const channels = [
    `${channel}${variant.prevId ? `; prev-id=${lastId}` : ''}${variant.buildId ? '; filter=build-id' : ''}`,
  ];
  const meta: string[] = [];
  if (variant.buildId) meta.push(`id_format="c:%(${channel})s"`);
  if (variant.user) {
    channels.push(`user-${client}; filter=require-sub`, `link-${client}; prev-id=0`);
    meta.push(`user="${client}"`);
  }
  const headers: Record<string, string> = {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    'Grip-Hold': 'stream',
    'Grip-Channel': channels.join(', '),
  };
  if (meta.length > 0) headers['Grip-Set-Meta'] = meta.join(', ');
  if (variant.keepAlive) {
    headers['Grip-Keep-Alive'] =
      'event: keep-alive\\ndata:\\n\\n; format=cstring; timeout=20' +
      (variant.interval ? '; mode=interval' : '');
  }
  if (variant.link) {
    headers['Grip-Link'] =
      `</hold?variant=${variantName(variant)}&channel=${channel}&client=${client}&link=next${variant.longLink ? `&${TOKEN}` : ''}>; rel=next`;
  }
  return headers;
}

const variantName = (variant: Variant) =>
  Object.entries(VARIANTS).find(([, v]) => v === variant)![0];

function runOrigin(): void {
  let requests = 0;
  const published = new Map<string, string[]>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests++;
    const url = new URL(request.url ?? '/', 'http://x');
    const variant = VARIANTS[url.searchParams.get('variant') ?? ''];
    const channel = url.searchParams.get('channel') ?? '';
    const client = url.searchParams.get('client') ?? '';
    if (!variant) return void response.writeHead(404).end();
    const frames = published.get(channel) ?? [];
    if (url.searchParams.get('link') === 'next') {
      const last = new RegExp(`(?:^|, )${channel}; last-id=(\\d+)`).exec(
        String(request.headers['grip-last'] ?? ''),
      );
      const from = last ? Number(last[1]) : frames.length;
      response.writeHead(200, holdHeaders(variant, channel, frames.length, client));
      response.end(frames.slice(from).join(''));
      return;
    }
    response.writeHead(200, holdHeaders(variant, channel, frames.length, client));
    response.end(STREAM_OPEN);
  });
  server.keepAliveTimeout = 60_000;

  const publish = async (command: {
    publishUrl: string;
    variant: string;
    channel: string;
    count: number;
    perSecond: number;
  }) => {
    const variant = VARIANTS[command.variant];
    const frames = published.get(command.channel) ?? [];
    published.set(command.channel, frames);
    const started = performance.now();
    const posts: Promise<unknown>[] = [];
    const durations: number[] = [];
    const padding = 'x'.repeat(64);
    const queued: object[] = [];
    let draining: Promise<void> | undefined;
    const post = async (items: object[]) => {
      const posted = performance.now();
      const response = await fetch(`${command.publishUrl}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      await response.text();
      durations.push(performance.now() - posted);
      if (!response.ok) throw new Error(`publish answered ${response.status}`);
    };
    for (let i = 0; i < command.count; i++) {
      const due = started + (i * 1000) / command.perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const seq = frames.length + 1;
      const data = JSON.stringify({ t: process.hrtime.bigint().toString(), p: padding });
      const content = encodeFrame({
        event: 'tick',
        id: variant.buildId ? '%I' : `c:${seq}`,
        data,
      });
      frames.push(content);
      const item = {
        channel: command.channel,
        id: String(seq),
        'prev-id': String(seq - 1),
        formats: {
          'http-stream': variant.buildId
            ? { content, 'content-filters': ['build-id'] }
            : { content },
        },
      };
      const items: object[] = [item];
      if (variant.pair) {
        items.push({
          channel: `events-${command.channel}`,
          id: String(seq),
          'prev-id': String(seq - 1),
          formats: {
            'http-stream': {
              content: encodeFrame({ event: 'tick', id: '%I', data }),
              'content-filters': ['build-id'],
            },
          },
        });
      }
      if (!variant.serial) {
        posts.push(post(items));
        continue;
      }
      // As the library's queue: what comes while a POST is in flight goes
      // together in the next one.
      queued.push(...items);
      if (!draining) {
        draining = (async () => {
          while (queued.length > 0) await post(queued.splice(0));
          draining = undefined;
        })();
        posts.push(draining);
      }
    }
    await Promise.all(posts);
    durations.sort((a, b) => a - b);
    return { postP50: percentile(durations, 50), postP99: percentile(durations, 99) };
  };

  process.on('message', (message: { id: number; cmd: string; [key: string]: unknown }) => {
    const reply = (result: unknown, error?: string) =>
      process.send!({ id: message.id, result, error });
    switch (message.cmd) {
      case 'listen':
        server.listen(message.port as number, '127.0.0.1', () => reply(null));
        return;
      case 'requests':
        return reply(requests);
      case 'publish':
        publish(message as never).then(
          (timing) => reply(timing),
          (error: unknown) => reply(null, String(error)),
        );
        return;
      case 'stop':
        server.closeAllConnections();
        server.close(() => reply(null));
        return;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- bench side

class Origin {
  private next = 0;
  private readonly waiting = new Map<number, (m: { result: unknown; error?: string }) => void>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id: number; result: unknown; error?: string }) => {
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
  }
  call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (m) => (m.error ? reject(new Error(m.error)) : resolve(m.result)));
      this.child.send({ id, cmd, ...args });
    });
  }
}

/** CPU time (ms) of a process, user + system. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

async function run(
  origin: Origin,
  originPid: number,
  pushpinPids: Map<string, number>,
  pushpin: { url: string; publishUrl: string },
  variantName: string,
  clients: number,
  perSecond: number,
  seconds: number,
) {
  const channel = `${variantName}-${clients}-${Date.now()}`;
  const port = Number(new URL(pushpin.url).port);
  const count = Math.round(perSecond * seconds);
  const lastSeq = new Int32Array(clients);
  const latencies = new Float64Array(clients * count);
  let samples = 0;
  let opened = 0;
  let outOfOrder = 0;
  let closed = 0;
  const sockets: SseClient[] = [];
  for (let index = 0; index < clients; index++) {
    while (index - opened >= 50) await sleep(5);
    sockets.push(
      new SseClient({
        port,
        path: `/hold?variant=${variantName}&channel=${channel}&client=u${index}`,
        onEvent: (event) => {
          if (event.type === 'stream-open') return void opened++;
          if (event.type !== 'tick') return;
          const seq = Number(event.id.slice(event.id.lastIndexOf(':') + 1));
          if (lastSeq[index] !== 0 && seq !== lastSeq[index] + 1) outOfOrder++;
          lastSeq[index] = seq;
          const sent = /"t":"(\d+)"/.exec(event.data)?.[1];
          if (sent && seq > 1) {
            latencies[samples++] = Number(process.hrtime.bigint() - BigInt(sent)) / 1e6;
          }
        },
        onClose: () => void closed++,
      }),
    );
  }
  try {
    await until(() => opened >= clients, 60_000, 'clients to open');
    // Let Pushpin's first next-link calls (1 s after the first subscription) pass.
    let last = (await origin.call('requests')) as number;
    let quiet = Date.now();
    while (Date.now() - quiet < 1_500) {
      await sleep(200);
      const now = (await origin.call('requests')) as number;
      if (now !== last) quiet = Date.now();
      last = now;
    }
    await origin.call('publish', {
      publishUrl: pushpin.publishUrl,
      variant: variantName,
      channel,
      count: 1,
      perSecond,
    });
    await until(() => lastSeq.every((s) => s >= 1), 30_000, 'the first event');
    const cpuBefore = new Map([...pushpinPids].map(([name, pid]) => [name, cpuMs(pid)]));
    const originBefore = cpuMs(originPid);
    const selfBefore = process.cpuUsage();
    const posts = (await origin.call('publish', {
      publishUrl: pushpin.publishUrl,
      variant: variantName,
      channel,
      count,
      perSecond,
    })) as { postP50: number; postP99: number };
    await until(() => lastSeq.every((s) => s >= count + 1), 15_000, 'every event').catch(
      () => undefined,
    );
    const self = process.cpuUsage(selfBefore);
    const cpu: Record<string, number> = {};
    for (const [name, pid] of pushpinPids) cpu[name] = round(cpuMs(pid) - cpuBefore.get(name)!, 0);
    cpu.origin = round(cpuMs(originPid) - originBefore, 0);
    cpu.clients = round((self.user + self.system) / 1000, 0);
    const sorted = latencies.subarray(0, samples).sort();
    return {
      variant: variantName,
      clients,
      perSecond,
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? NaN),
      postP50: round(posts.postP50),
      postP99: round(posts.postP99),
      lost: clients * count - samples,
      outOfOrder,
      closed,
      cpu,
    };
  } finally {
    sockets.forEach((s) => s.close());
    await sleep(500);
  }
}

async function main(): Promise<void> {
  const [clients, perSecond, seconds, rounds] = process.argv.slice(2, 6).map(Number);
  const names = (process.argv[6] ?? 'bare,library,library-idle').split(',');
  const backendPort = await freePort();
  const child = fork(__filename, ['origin'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const origin = new Origin(child);
  await origin.call('listen', { port: backendPort });
  const pushpin = await startPushpin({
    backendPort,
    sigKey: 'experiment-key-0123456789abcdefghijklmnop',
    settings: PUSHPIN_SETTINGS,
  });
  try {
    const runner = processesOf(process.pid).find(
      (pid) => pid !== child.pid && comm(pid) === 'pushpin',
    );
    const pushpinPids = new Map<string, number>();
    for (const pid of runner ? processesOf(runner) : []) pushpinPids.set(comm(pid), pid);
    const results = [];
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const result = await run(
          origin,
          child.pid!,
          pushpinPids,
          pushpin,
          name,
          clients,
          perSecond,
          seconds,
        );
        console.log(JSON.stringify(result));
        results.push(result);
      }
    }
    console.log('\nmedians:');
    for (const name of names) {
      const mine = results.filter((r) => r.variant === name);
      const median = (values: number[]) =>
        values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const cpuNames = Object.keys(mine[0].cpu);
      console.log(
        `${name.padEnd(14)} p50 ${median(mine.map((r) => r.p50))} p99 ${median(mine.map((r) => r.p99))} ` +
          `post p50 ${median(mine.map((r) => r.postP50))} p99 ${median(mine.map((r) => r.postP99))} ` +
          `lost ${mine.map((r) => r.lost).join('/')} cpu ` +
          cpuNames.map((n) => `${n}=${median(mine.map((r) => r.cpu[n]))}`).join(' '),
      );
    }
  } finally {
    if (process.env.LOGS) console.log((await pushpin.logs()).slice(-12000));
    await pushpin.stop();
    await origin.call('stop').catch(() => undefined);
    child.disconnect();
  }
}

if (process.argv[2] === 'origin') runOrigin();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
