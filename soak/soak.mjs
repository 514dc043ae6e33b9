// A bounded soak run, outside CI: `npm run soak` (builds first).
//
// Two app instances on one Postgres (an embedded one, or DATABASE_URL),
// publishers sending to random channels through both, clients of one to
// three channels that drop at random and resume from their Last-Event-ID,
// and retention trimming every second. A checker verifies, for every client
// and channel, order, completeness and no duplicates (a gap is allowed only
// right after a stream-reset, when retention trimmed what the client missed),
// and that the heap stays flat. Exits 1 on any violation.
//
// SOAK_SECONDS (default 120), SOAK_CLIENTS (40), SOAK_PUBLISHERS (6),
// SOAK_CHANNELS (12).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import EventSource from 'eventsource';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamModule, EventStreamService } from '../dist/eventstream/index.js';
import { startEmbeddedPostgres } from '../dist/server/embedded-postgres.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 40);
const PUBLISHERS = Number(process.env.SOAK_PUBLISHERS ?? 6);
const CHANNELS = Array.from(
  { length: Number(process.env.SOAK_CHANNELS ?? 12) },
  (_, i) => `soak-${i}`,
);
const pick = (list) => list[Math.floor(Math.random() * list.length)];

class SoakModule {}

async function startInstance(databaseUrl) {
  const module = {
    module: SoakModule,
    imports: [
      EventStreamModule.forRoot({
        databaseUrl,
        migrate: true,
        retention: { maxEventsPerChannel: 300, maxAgeMs: null, intervalMs: 1_000 },
      }),
    ],
  };
  const app = await NestFactory.create(module, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  return { app, events: app.get(EventStreamService), url: `http://127.0.0.1:${port}/events` };
}

/** A client that records, per channel, the seqs it received, and drops at random. */
class SoakClient {
  constructor(instances) {
    this.instances = instances;
    this.channels = [
      ...new Set(Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => pick(CHANNELS))),
    ];
    this.last = new Map(this.channels.map((c) => [c, undefined]));
    this.violations = [];
    this.received = 0;
    this.resets = 0;
    this.drops = 0;
    this.lastId = this.channels.map((c) => `${c}:0`).join(',');
    this.open();
  }

  open() {
    const query = this.channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&');
    this.source = new EventSource(`${pick(this.instances).url}?${query}`, {
      headers: { 'Last-Event-ID': this.lastId },
    });
    this.source.addEventListener('n', (event) => this.onEvent(event, false));
    this.source.addEventListener('stream-reset', (event) => this.onEvent(event, true));
  }

  onEvent(event, reset) {
    this.lastId = event.lastEventId;
    const seqs = new Map(
      event.lastEventId.split(',').map((entry) => {
        const colon = entry.lastIndexOf(':');
        return [decodeURIComponent(entry.slice(0, colon)), Number(entry.slice(colon + 1))];
      }),
    );
    if (reset) {
      this.resets++;
      for (const channel of JSON.parse(event.data).channels)
        this.last.set(channel, seqs.get(channel));
      return;
    }
    this.received++;
    const { channel } = JSON.parse(event.data);
    const seq = seqs.get(channel);
    const previous = this.last.get(channel);
    if (previous !== undefined && seq !== previous + 1) {
      this.violations.push(`${channel}: got seq ${seq} after ${previous}`);
    }
    this.last.set(channel, seq);
  }

  /** Drops the connection; a third of the time stays away long enough to be trimmed past. */
  drop() {
    if (this.away) return;
    this.drops++;
    this.source.close();
    if (Math.random() < 2 / 3) return this.open();
    this.away = setTimeout(
      () => {
        this.away = undefined;
        this.open();
      },
      5_000 + Math.random() * 10_000,
    );
  }

  close() {
    clearTimeout(this.away);
    this.source.close();
  }
}

function heapMb() {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function main() {
  let postgres;
  let dataDir;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'eventstream-soak-'));
    postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
    databaseUrl = postgres.url;
  }
  const instances = [await startInstance(databaseUrl), await startInstance(databaseUrl)];
  const clients = Array.from({ length: CLIENTS }, () => new SoakClient(instances));
  const acked = new Map(CHANNELS.map((c) => [c, 0]));
  let failures = 0;
  let running = true;
  const publishers = Array.from({ length: PUBLISHERS }, async () => {
    while (running) {
      const channel = pick(CHANNELS);
      try {
        const event = await pick(instances).events.sendEvent(channel, 'n', {
          channel,
          at: Date.now(),
        });
        acked.set(channel, Math.max(acked.get(channel), event.seq));
      } catch {
        failures++;
      }
      await sleep(Math.random() * 20);
    }
  });

  const heap = [];
  const started = Date.now();
  while (Date.now() - started < SECONDS * 1000) {
    await sleep(1_000);
    // About one client in ten drops each second.
    for (const client of clients) if (Math.random() < 0.1) client.drop();
    if ((Date.now() - started) % 10_000 < 1_000) heap.push(heapMb());
  }
  running = false;
  await Promise.all(publishers);

  // Completeness: every client catches up to the head of each of its channels.
  const deadline = Date.now() + 30_000;
  const behind = () =>
    clients.filter((c) => c.channels.some((ch) => (c.last.get(ch) ?? 0) < acked.get(ch)));
  while (behind().length > 0 && Date.now() < deadline) await sleep(200);
  const lagging = behind();
  heap.push(heapMb());
  clients.forEach((c) => c.close());
  for (const instance of instances) await instance.app.close();
  await postgres?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });

  const violations = clients.flatMap((c) => c.violations);
  const sent = [...acked.values()].reduce((a, b) => a + b, 0);
  // Flat: the last sample within 50% (and 30 MB) of the median of the first half.
  const firstHalf = heap.slice(0, Math.max(1, Math.floor(heap.length / 2))).sort((a, b) => a - b);
  const baseline = firstHalf[Math.floor(firstHalf.length / 2)];
  const grew = heap.at(-1) > baseline * 1.5 + 30;
  console.table({
    seconds: SECONDS,
    'events acknowledged': sent,
    'sends failed': failures,
    'events received': clients.reduce((a, c) => a + c.received, 0),
    'client drops': clients.reduce((a, c) => a + c.drops, 0),
    'stream-resets': clients.reduce((a, c) => a + c.resets, 0),
    'order/duplicate violations': violations.length,
    'clients not caught up': lagging.length,
    'heap MB (samples)': heap.map((mb) => mb.toFixed(1)).join(' '),
    'heap flat': !grew,
  });
  for (const violation of violations.slice(0, 20)) console.error(violation);
  const ok = violations.length === 0 && lagging.length === 0 && !grew && failures === 0;
  console.log(ok ? 'soak: OK' : 'soak: FAILED');
  process.exit(ok ? 0 : 1);
}

void main();
