/**
 * Where a lone caller's `POST /publish` spends its time (#22, target 1), step
 * by step, against the same send made in process. Run after building the
 * benchmark (`npx tsc -p bench/tsconfig.json`, migrations copied as
 * `npm run bench` does):
 *
 *   node dist/bench/bench/experiments/publish-stages.js [requests a round] [rounds]
 *
 * Four targets, in turns each round, one caller each, over one keep-alive
 * connection: a bare `node:http` server answering 201 at once (`echo`), the
 * bench's bare server calling `sendEvent` (`bare`), the bundled server's
 * route (`route`), and `sendEvent` in process (`in-process`). Each server
 * process loads stage-probe.js, which stamps every step on the monotonic
 * clock all processes share; the client stamps its write and the answer's
 * arrival. It prints, per target, the median and p90 of each step, the CPU
 * time per request of the server process and of Postgres (all its
 * processes), and the load average.
 */
// First: it must wrap the service before anything loads it.
import * as probe from './stage-probe';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/server/embedded-postgres';
import { freePort } from '../../src/server/free-port';
import { startEventStream } from '../../test/harness/event-stream-app';
import { ADMIN_URL_VARIABLE, createTestDatabase } from '../../test/harness/postgres';
import { jsonPost } from '../keep-alive-client';
import { percentile } from '../measure';
import { PAYLOAD } from '../write-throughput';
import type { Label, ProbeDump } from './stage-probe';

const KEY = 'bench-publish-key-0123456789';
const PER_ROUND = Number(process.argv[2] ?? 500);
const ROUNDS = Number(process.argv[3] ?? 4);
/** Requests of the untimed first round: until V8 has compiled the hot paths. */
const WARM_UP = 3_000;
const PROBE = join(__dirname, 'stage-probe.js');

interface Probed {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly out: string;
  dumps: number;
}

async function startProbed(
  name: string,
  script: string,
  env: Record<string, string>,
  dir: string,
): Promise<Probed> {
  const port = await freePort();
  const out = join(dir, name);
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_OPTIONS: `--require ${PROBE}`,
      STAGE_PROBE_OUT: out,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
  });
  return { name, port, child, out, dumps: 0 };
}

async function dump(probed: Probed): Promise<ProbeDump> {
  const file = `${probed.out}.${probed.dumps++}`;
  probed.child.kill('SIGUSR2');
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return JSON.parse(readFileSync(file, 'utf8')) as ProbeDump;
}

/** CPU ticks (user + system) of every process of the Postgres cluster at `dataDir`. */
function postgresTicks(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields from the 3rd: ppid is [1], utime [11], stime [12].
      if (Number(pid) === postmaster || Number(fields[1]) === postmaster) {
        ticks += Number(fields[11]) + Number(fields[12]);
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks;
}
const TICK_MICROS = 10_000;

/** One caller: writes the request, waits for the whole answer, again; stamps both. */
async function lone(port: number, request: Buffer, count: number) {
  const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setEncoding('latin1');
  const wrote: bigint[] = [];
  const answered: bigint[] = [];
  await new Promise<void>((resolve, reject) => {
    let received = '';
    socket.on('error', reject);
    socket.on('data', (text: string) => {
      const at = process.hrtime.bigint();
      received += text;
      const head = received.indexOf('\r\n\r\n');
      if (head === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, head))?.[1] ?? 0);
      if (received.length < head + 4 + length) return;
      if (!received.startsWith('HTTP/1.1 201')) reject(new Error(received.slice(0, 200)));
      received = received.slice(head + 4 + length);
      answered.push(at);
      if (answered.length === count) return resolve();
      wrote.push(process.hrtime.bigint());
      socket.write(request);
    });
    wrote.push(process.hrtime.bigint());
    socket.write(request);
  });
  socket.destroy();
  return { wrote, answered };
}

type Stages = Map<string, number[]>;
const add = (stages: Stages, name: string, ms: number) => {
  const list = stages.get(name);
  if (list) list.push(ms);
  else stages.set(name, [ms]);
};
const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

/** Each client request's steps in the server, from the server's stamps within it. */
function serverStages(
  stages: Stages,
  client: { wrote: bigint[]; answered: bigint[] },
  events: [Label, string][],
) {
  const stamped = events.map(([label, at]) => [label, BigInt(at)] as const);
  let e = 0;
  for (let i = 0; i < client.wrote.length; i++) {
    const from = client.wrote[i];
    const to = client.answered[i];
    while (e < stamped.length && stamped[e][1] < from) e++;
    // The first of each step within this request; Postgres's reply is the
    // first after the query (a head announcement's reply may come earlier).
    const first = new Map<Label, bigint>();
    let pgWrites = 0;
    let httpWrites = 0;
    for (; e < stamped.length && stamped[e][1] <= to; e++) {
      const [label, at] = stamped[e];
      if (label === 'pg-write') pgWrites++;
      if (label === 'http-write') httpWrites++;
      if (first.has(label)) continue;
      if (label === 'pg-write' && !first.has('send')) continue;
      if (label === 'pg-data' && !first.has('pg-write')) continue;
      first.set(label, at);
    }
    const steps: [string, Label | 'client-write', Label | 'client-data'][] = [
      // node:http's parser reads the socket itself: no 'data' event to stamp.
      ['client write -> request', 'client-write', 'request'],
      ['request -> body end', 'request', 'end'],
      ['body end -> sendEvent', 'end', 'send'],
      ['sendEvent -> query written', 'send', 'pg-write'],
      ['query written -> Postgres reply', 'pg-write', 'pg-data'],
      ['Postgres reply -> send resolved', 'pg-data', 'resolved'],
      ['send resolved -> response written', 'resolved', 'http-write'],
      ['body end -> response written', 'end', 'http-write'],
      ['response written -> client data', 'http-write', 'client-data'],
    ];
    const at = (label: Label | 'client-write' | 'client-data') =>
      label === 'client-write' ? from : label === 'client-data' ? to : first.get(label);
    for (const [name, a, b] of steps) {
      const start = at(a);
      const end = at(b);
      if (start !== undefined && end !== undefined) add(stages, name, ms(start, end));
    }
    add(stages, 'client write -> client data (round trip)', ms(from, to));
    add(stages, 'socket writes to Postgres (count)', pgWrites);
    add(stages, 'socket writes of the response (count)', httpWrites);
    if (i + 1 < client.wrote.length)
      add(stages, 'client data -> next write', ms(to, client.wrote[i + 1]));
  }
}

function inProcessStages(stages: Stages, events: [Label, string][]) {
  let send: bigint | undefined;
  let write: bigint | undefined;
  let reply: bigint | undefined;
  let resolved: bigint | undefined;
  for (const [label, text] of events) {
    const at = BigInt(text);
    if (label === 'send') {
      if (resolved !== undefined) add(stages, 'send resolved -> next sendEvent', ms(resolved, at));
      send = at;
      write = reply = resolved = undefined;
    } else if (label === 'pg-write' && send !== undefined && write === undefined) write = at;
    else if (label === 'pg-data' && write !== undefined && reply === undefined) reply = at;
    else if (label === 'resolved' && send !== undefined && resolved === undefined) {
      resolved = at;
      if (write !== undefined) add(stages, 'sendEvent -> query written', ms(send, write));
      if (write !== undefined && reply !== undefined) {
        add(stages, 'query written -> Postgres reply', ms(write, reply));
        add(stages, 'Postgres reply -> send resolved', ms(reply, at));
      }
      add(stages, 'sendEvent -> resolved', ms(send, at));
    }
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'publish-stages-'));
  // The embedded Postgres runs as another user, who must enter it.
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'pg');
  const postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
  process.env[ADMIN_URL_VARIABLE] = postgres.url;
  process.env.STAGE_PG_PORT = new URL(postgres.url).port;
  const db = await createTestDatabase();
  const servers: Probed[] = [];
  try {
    const env = { DATABASE_URL: db.url, STAGE_PG_PORT: process.env.STAGE_PG_PORT };
    const echo = await startProbed('echo', join(__dirname, 'echo-server.js'), env, dir);
    servers.push(echo);
    const bare = await startProbed(
      'bare',
      join(__dirname, '..', 'bare-publish-server.js'),
      env,
      dir,
    );
    servers.push(bare);
    const route = await startProbed(
      'route',
      join(__dirname, '..', '..', 'src', 'main.js'),
      { ...env, EVENTSTREAM_PUBLISH_KEY: KEY, EVENTSTREAM_DEMO: 'off' },
      dir,
    );
    servers.push(route);
    const stream = await startEventStream({ databaseUrl: db.url });
    const body = JSON.stringify({ channel: 'stages', type: 'tick', data: PAYLOAD });
    const requestTo = (port: number) =>
      jsonPost('/publish', port, { Authorization: `Bearer ${KEY}` }, body);
    const stages = new Map<string, Stages>();
    const cpu = new Map<string, { server: number; postgres: number; requests: number }>();
    const tally = (name: string, server: number, pgTicks: number, requests: number) => {
      const sum = cpu.get(name) ?? { server: 0, postgres: 0, requests: 0 };
      cpu.set(name, {
        server: sum.server + server,
        postgres: sum.postgres + pgTicks * TICK_MICROS,
        requests: sum.requests + requests,
      });
    };
    const loads: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const warmUp = round === 0;
      loads.push(loadavg()[0]);
      for (const server of servers) {
        await dump(server);
        const ticks = postgresTicks(dataDir);
        const client = await lone(
          server.port,
          requestTo(server.port),
          warmUp ? WARM_UP : PER_ROUND,
        );
        const pgTicks = postgresTicks(dataDir) - ticks;
        const probed = await dump(server);
        if (warmUp) continue;
        if (!stages.has(server.name)) stages.set(server.name, new Map());
        serverStages(stages.get(server.name)!, client, probed.events);
        tally(server.name, probed.cpuMicros, pgTicks, PER_ROUND);
      }
      probe.takeDump();
      const ticks = postgresTicks(dataDir);
      for (let i = 0; i < (warmUp ? WARM_UP : PER_ROUND); i++) {
        await stream.events.sendEvent('stages-in', 'tick', PAYLOAD);
      }
      const pgTicks = postgresTicks(dataDir) - ticks;
      const own = probe.takeDump();
      if (warmUp) continue;
      if (!stages.has('in-process')) stages.set('in-process', new Map());
      inProcessStages(stages.get('in-process')!, own.events);
      tally('in-process', own.cpuMicros, pgTicks, PER_ROUND);
    }
    await stream.close();
    console.log(
      `${ROUNDS} rounds of ${PER_ROUND} requests per target, in turns; load average ` +
        `${loads.map((l) => l.toFixed(2)).join(', ')}`,
    );
    for (const [name, steps] of stages) {
      const { server, postgres: pg, requests } = cpu.get(name)!;
      console.log(
        `\n${name}: CPU per request, server process ${(server / requests).toFixed(0)} µs ` +
          `(in-process: the caller's process), Postgres ${(pg / requests).toFixed(0)} µs`,
      );
      console.log('| step | median ms | p90 ms | mean ms | n |');
      console.log('| --- | --- | --- | --- | --- |');
      for (const [step, values] of steps) {
        const sorted = Float64Array.from(values).sort();
        console.log(
          `| ${step} | ${percentile(sorted, 50).toFixed(3)} | ${percentile(sorted, 90).toFixed(3)} | ` +
            `${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(3)} | ${values.length} |`,
        );
      }
    }
  } finally {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(
      servers.map(
        (s) =>
          new Promise((resolve) =>
            s.child.exitCode !== null ? resolve(0) : s.child.once('exit', resolve),
          ),
      ),
    );
    await db.drop();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
