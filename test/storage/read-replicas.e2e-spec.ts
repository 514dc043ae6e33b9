import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import { freePort } from '../../src/server/free-port';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import {
  PUSHPIN_INSTALL_HINT,
  pushpinInstalled,
  startPushpin,
  type RunningPushpin,
} from '../harness/pushpin';
import { startReplicatedPostgres, type ReplicatedPostgres } from '../harness/replicated-postgres';
import { SseRecorder } from '../harness/sse-client';
import { TcpProxy } from '../harness/tcp-proxy';
import { waitFor } from '../harness/wait';

/**
 * Read replicas, against a real streaming replica of a primary of the
 * suite's own (test/harness/replicated-postgres.ts). Which reads the replica
 * answered is read from the replica's own statement log; a paused WAL replay
 * makes it lag for certain, a stopped process makes it down, and a TCP proxy
 * in front of it makes it hang.
 */
describe('read replicas', () => {
  let pair: ReplicatedPostgres;
  /** The app's path to the replica, to stall. */
  let path: TcpProxy;
  let app: HttpApp;
  const registry = new Registry();
  const clients: SseRecorder[] = [];

  const connect = (channel: string, lastEventId?: string) => {
    const client = new SseRecorder(app.streamUrl(`channel=${channel}`), {
      headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {},
      eventTypes: ['n'],
    });
    clients.push(client);
    return client;
  };
  const send = (channel: string, from: number, to: number) =>
    app.events.sendEvents(range(from, to).map((n) => ({ channel, type: 'n', data: n })));
  const numbers = (client: SseRecorder) => client.events('n').map((e) => Number(e.data));
  const history = async (query: string) => {
    const response = await fetch(`${app.baseUrl}/events/history?${query}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { events: { data: number }[] }).events.map((e) => e.data);
  };
  /** Page reads counted by the app's metric, by `source/reason`. */
  const pageReads = async () => {
    const metric = await registry.getSingleMetric('eventstream_page_reads_total')?.get();
    return new Map(
      (metric?.values ?? []).map((v) => [`${v.labels.source}/${v.labels.reason}`, v.value]),
    );
  };
  const countOf = async (key: string) => (await pageReads()).get(key) ?? 0;

  beforeAll(async () => {
    pair = await startReplicatedPostgres();
    ({ proxy: path } = await TcpProxy.inFrontOf(pair.replica.url));
    app = await startHttpApp({
      options: {
        databaseUrl: pair.primaryUrl,
        replicas: [`postgresql://postgres:eventstream@127.0.0.1:${path.port}/postgres`],
        metrics: { registry },
      },
    });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await app?.close();
    await path?.stop();
    await pair?.stop();
  });

  it('replays and serves history from a replica that has caught up', async () => {
    await send('caught', 1, 300);
    await pair.replica.waitCaughtUp();
    const before = pair.replica.pageReads();

    const client = connect('caught', 'caught:0');
    await client.until((c) => c.events('n').length === 300);
    expect(numbers(client)).toEqual(range(1, 300));
    expect(client.events('n').map((e) => e.id)).toEqual(range(1, 300).map((n) => `caught:${n}`));
    expect(await history('channel=caught&after=100&limit=50')).toEqual(range(101, 150));
    expect(await history('channel=caught&limit=20')).toEqual(range(281, 300));

    // The replica ran them: the replay's page and both history pages.
    await waitFor(() => pair.replica.pageReads() >= before + 3);
    expect(await countOf('replica/caught-up')).toBeGreaterThanOrEqual(3);
    expect(await countOf('primary/lagging')).toBe(0);
  });

  it('replays every missed event in order from the primary while the replica lags', async () => {
    await send('lag', 1, 5);
    const first = connect('lag', 'lag:0');
    await first.until((c) => c.events('n').length === 5);
    first.close();

    await pair.replica.pauseReplay();
    try {
      await send('lag', 6, 40);
      const lagging = await countOf('primary/lagging');
      // The client comes back from the last id it saw.
      const again = connect('lag', 'lag:5');
      await again.until((c) => c.events('n').length >= 35);
      expect(numbers(again)).toEqual(range(6, 40));
      expect(again.events('n').map((e) => e.id)).toEqual(range(6, 40).map((n) => `lag:${n}`));
      expect(await history('channel=lag&after=5&limit=100')).toEqual(range(6, 40));
      expect(await history('channel=lag&limit=3')).toEqual(range(38, 40));
      // The replica answered and was found behind each time.
      expect(await countOf('primary/lagging')).toBeGreaterThanOrEqual(lagging + 3);
    } finally {
      await pair.replica.resumeReplay();
    }
  });

  it('reads from the primary while the replica is stopped, and from the replica once it is back', async () => {
    await send('stopped', 1, 10);
    await pair.replica.stop();
    const before = await pageReads();
    try {
      const client = connect('stopped', 'stopped:0');
      await client.until((c) => c.events('n').length === 10);
      expect(numbers(client)).toEqual(range(1, 10));
      expect(await history('channel=stopped&after=0&limit=100')).toEqual(range(1, 10));
      const reads = await pageReads();
      const added = (key: string) => (reads.get(key) ?? 0) - (before.get(key) ?? 0);
      expect(added('primary/replica-failed')).toBe(1);
      // After one failure it is skipped, not tried again by every read.
      expect(added('primary/replica-down')).toBeGreaterThanOrEqual(1);
    } finally {
      await pair.replica.start();
    }
    await pair.replica.waitCaughtUp();
    // Tried again after its skip time (10 s), by the next read that comes.
    const served = await countOf('replica/caught-up');
    await waitFor(async () => {
      expect(await history('channel=stopped&after=0&limit=100')).toEqual(range(1, 10));
      await new Promise((resolve) => setTimeout(resolve, 250));
      return (await countOf('replica/caught-up')) > served;
    }, 20_000);
  });

  it('does not hold reads up past its timeout when the replica hangs', async () => {
    await send('hang', 1, 10);
    await pair.replica.waitCaughtUp();
    const failed = await countOf('primary/replica-failed');
    await path.stall();
    try {
      const started = Date.now();
      const client = connect('hang', 'hang:0');
      await client.until((c) => c.events('n').length === 10);
      // One query timeout (1 s), then the primary; far below the pool's 15 s.
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(numbers(client)).toEqual(range(1, 10));
      const quick = Date.now();
      expect(await history('channel=hang&after=0&limit=100')).toEqual(range(1, 10));
      // Skipped now: no second wait for it.
      expect(Date.now() - quick).toBeLessThan(800);
      expect(await countOf('primary/replica-failed')).toBe(failed + 1);
    } finally {
      await path.forward();
    }
  });

  it('replays GRIP replies from the replica, and recovers through the next link from the primary while it lags', async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    const recoveries: string[] = [];
    const port = await freePort();
    const pushpin: RunningPushpin = await startPushpin({
      backendPort: port,
      sigKey: 'replica-suite-key-0123456789abcdefghijklmnopq',
      messageWaitMs: 1_000,
    });
    const options = {
      databaseUrl: pair.primaryUrl,
      replicas: [pair.replica.url],
      retention: false as const,
    };
    let front: HttpApp | undefined;
    let other: HttpApp | undefined;
    const cut = await TcpProxy.start({
      host: '127.0.0.1',
      port: Number(new URL(pushpin.publishUrl).port),
    });
    try {
      front = await startHttpApp({
        port,
        options: { ...options, grip: { url: pushpin.gripUrl } },
        configure: (nest: INestApplication) =>
          nest.use((request: { url?: string }, _: unknown, next: () => void) => {
            if (request.url?.includes('recover=true')) recoveries.push(request.url);
            next();
          }),
      });
      // A second instance whose publishes never reach Pushpin.
      await cut.refuse();
      other = await startHttpApp({
        options: {
          ...options,
          grip: {
            url: pushpin.gripUrl.replace(`:${new URL(pushpin.publishUrl).port}/`, `:${cut.port}/`),
            publishTimeoutMs: 500,
          },
        },
      });
      const client = new SseRecorder(`${pushpin.url}/events?channel=grip`, { eventTypes: ['n'] });
      clients.push(client);
      await client.until((c) => c.opens === 1);
      await front.events.sendEvent('grip', 'n', 1);
      await client.until((c) => c.events('n').length === 1);
      // Pushpin calls the link once after it holds a stream: recoveries of
      // the gap are the calls after that one.
      await waitFor(() => recoveries.length > 0);

      // A client that comes back through Pushpin gets its replay page from
      // the replica, which has caught up.
      await pair.replica.waitCaughtUp();
      const replayed = pair.replica.pageReads();
      const back = new SseRecorder(`${pushpin.url}/events?channel=grip`, {
        headers: { 'Last-Event-ID': 'grip:0' },
        eventTypes: ['n'],
      });
      clients.push(back);
      await back.until((c) => c.events('n').length === 1);
      await waitFor(() => pair.replica.pageReads() > replayed);

      await pair.replica.pauseReplay();
      const before = pair.replica.pageReads();
      recoveries.splice(0);
      for (let n = 2; n <= 6; n++) await other.events.sendEvent('grip', 'n', n);
      await front.events.sendEvent('grip', 'n', 7);
      // 7 names 6 as its prev-id, which Pushpin never saw: it recovers 2-6
      // through the next link, which the lagging replica cannot answer.
      await client.until((c) => c.events('n').length >= 7, 20_000);
      expect(numbers(client)).toEqual(range(1, 7));
      expect(recoveries.length).toBeGreaterThan(0);
      // The replica was asked, and the primary answered instead.
      await waitFor(() => pair.replica.pageReads() > before);
    } finally {
      await pair.replica.resumeReplay();
      await other?.close();
      await front?.close();
      await cut.stop();
      await pushpin.stop();
    }
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
