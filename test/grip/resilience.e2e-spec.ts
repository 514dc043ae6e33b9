import type { INestApplication } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import { Client } from 'pg';
import type { AddressInfo } from 'node:net';
import { startGripApp, type BehindPushpin } from '../harness/grip-app';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import type { TestDatabase } from '../harness/postgres';
import type { RunningPushpin } from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';
import { TcpProxy } from '../harness/tcp-proxy';

/** GRIP delivery when publishes race, get lost, or Pushpin goes away. */
describe('GRIP mode under faults', () => {
  let db: TestDatabase;
  let pushpin: RunningPushpin;
  let front: HttpApp;
  const recoveries: string[] = [];
  const clients: SseRecorder[] = [];
  const connect = (channel: string) => {
    const client = new SseRecorder(`${pushpin.url}/events?channel=${channel}`, {
      eventTypes: ['n'],
    });
    clients.push(client);
    return client;
  };
  /**
   * Clients reach Pushpin through a balancer that routes to it only while it
   * is up and ready, as a health-checked load balancer would: a Pushpin that
   * is starting accepts connections before it can answer them, and a client
   * that reconnected into that moment would wait forever.
   */
  const balancers: TcpProxy[] = [];
  const connectBalanced = async (channel: string) => {
    const { proxy: balancer, url } = await TcpProxy.inFrontOf(pushpin.url);
    balancers.push(balancer);
    const client = new SseRecorder(`${url}events?channel=${channel}`, { eventTypes: ['n'] });
    clients.push(client);
    return { client, balancer };
  };
  const numbers = (client: SseRecorder) => client.events('n').map((e) => Number(e.data));
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);
  let stack: BehindPushpin<HttpApp>;

  beforeAll(async () => {
    stack = await startGripApp({
      // Gaps are recovered a second after they are seen, not five.
      pushpin: { messageWaitMs: 1_000 },
      grip: { publishTimeoutMs: 1_000 },
      // Records the recovery calls Pushpin makes to the next link.
      configure: (app: INestApplication) =>
        app.use(
          (
            request: { url?: string; headers: Record<string, unknown> },
            _: unknown,
            next: () => void,
          ) => {
            if (request.url?.includes('recover=true') && request.headers['grip-last']) {
              recoveries.push(request.headers['grip-last'] as string);
            }
            next();
          },
        ),
    });
    ({ db, pushpin, app: front } = stack);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(balancers.splice(0).map((b) => b.stop()));
  });
  afterAll(() => stack?.stop());

  it('recovers through the next link when another instance’s publishes never arrive', async () => {
    // A second instance whose path to Pushpin's publish API is cut: its
    // events are committed but never published.
    const publishPort = Number(new URL(pushpin.publishUrl).port);
    const cut = await TcpProxy.start({ host: '127.0.0.1', port: publishPort });
    await cut.refuse();
    const lostUrl = pushpin.gripUrl.replace(`:${publishPort}/`, `:${cut.port}/`);
    const other = await startHttpApp({
      options: { databaseUrl: db.url, grip: { url: lostUrl, publishTimeoutMs: 500 } },
    });
    try {
      const client = connect('raced');
      await client.until((c) => c.opens === 1);
      await front.events.sendEvent('raced', 'n', 1);
      await client.until((c) => c.events('n').length === 1);
      // Pushpin also calls the link once right after it holds a stream: only
      // calls made from here on can be the recovery of the gap.
      recoveries.splice(0);
      await other.events.sendEvent('raced', 'n', 2);
      await other.events.sendEvent('raced', 'n', 3);
      await front.events.sendEvent('raced', 'n', 4);
      // Event 4 names 3 as its prev-id, which Pushpin never saw: it asks the
      // app through the next link, and the gap is filled from the table.
      await client.until((c) => c.events('n').length === 4, 20_000);
      expect(numbers(client)).toEqual([1, 2, 3, 4]);
      expect(client.events('n').map((e) => e.id)).toEqual(range(1, 4).map((i) => `raced:${i}`));
      // Pushpin had delivered only event 1 when it asked.
      expect(recoveries.some((header) => /; last-id=1\b/.test(header))).toBe(true);
    } finally {
      await other.close();
      await cut.stop();
    }
  });

  it('delivers every event once, in order, when two instances send at once and one publishes late', async () => {
    // The second instance's publishes reach Pushpin three seconds late, past
    // its message_wait: the first one's items name prev-ids Pushpin has not
    // seen, and it must recover them through the next link.
    const late = await relayPublishes({ to: () => pushpin.publishUrl, delayMs: 3_000 });
    const publishPort = new URL(pushpin.publishUrl).port;
    const latePort = (late.address() as AddressInfo).port;
    const other = await startHttpApp({
      options: {
        databaseUrl: db.url,
        grip: { url: pushpin.gripUrl.replace(`:${publishPort}/`, `:${latePort}/`) },
      },
    });
    try {
      const readers = [connect('shared'), connect('shared'), connect('shared')];
      for (const reader of readers) await reader.until((c) => c.opens === 1);
      await front.events.sendEvent('shared', 'n', 'first');
      for (const reader of readers) await reader.until((c) => c.events('n').length === 1);
      // Pushpin calls the link of new streams once on its own, about
      // message_wait after they open: only calls after that one are
      // recoveries of gaps.
      await waitFor(() => recoveries.length > 0);
      recoveries.splice(0);
      const perInstance = 20;
      await Promise.all(
        Array.from({ length: perInstance }, (_, i) => [
          front.events.sendEvent('shared', 'n', `front-${i}`),
          other.events.sendEvent('shared', 'n', `other-${i}`),
        ]).flat(),
      );
      const total = 1 + 2 * perInstance;
      for (const reader of readers) {
        await reader.until((c) => c.events('n').length >= total, 30_000);
        expect(reader.events('n').map((e) => e.id)).toEqual(
          range(1, total).map((i) => `shared:${i}`),
        );
      }
      // Pushpin found gaps after event 1 and filled them through the next link.
      expect(recoveries.some((header) => /; last-id=[1-9]\d*\b/.test(header))).toBe(true);
      // Nothing arrives twice once the late publishes land.
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      for (const reader of readers) expect(reader.events('n')).toHaveLength(total);
    } finally {
      await other.close();
      await new Promise((resolve) => late.close(resolve));
    }
  });

  /** An app whose publishes to Pushpin go through `relay`. */
  const behindRelay = (relay: Server) => {
    const publishPort = new URL(pushpin.publishUrl).port;
    const relayPort = (relay.address() as AddressInfo).port;
    return startHttpApp({
      options: {
        databaseUrl: db.url,
        grip: { url: pushpin.gripUrl.replace(`:${publishPort}/`, `:${relayPort}/`) },
      },
    });
  };

  it('does not wait for a slow publish before the next, and Pushpin puts an overtaking one back in order', async () => {
    // Event 2's publish is held on its way until event 3's, sent meanwhile,
    // has gone past it to Pushpin (or 5 s, which fails the test). Pushpin
    // holds 3 until 2 comes (message_wait), or recovers the gap through the
    // next link.
    const forwarded: string[] = [];
    let threePassed!: () => void;
    const passed = new Promise<void>((resolve) => (threePassed = resolve));
    const relay = await relayPublishes({
      to: () => pushpin.publishUrl,
      decide: (ids) =>
        ids.includes('2')
          ? { until: Promise.race([passed, new Promise((r) => setTimeout(r, 5_000))]) }
          : undefined,
      onForward: (ids) => {
        forwarded.push(...ids);
        if (ids.includes('3')) threePassed();
      },
    });
    const writer = await behindRelay(relay);
    try {
      const client = connect('overtaken');
      await client.until((c) => c.opens === 1);
      await writer.events.sendEvent('overtaken', 'n', 1);
      await client.until((c) => c.events('n').length === 1);
      await writer.events.sendEvent('overtaken', 'n', 2);
      await writer.events.sendEvent('overtaken', 'n', 3);
      await client.until((c) => c.events('n').length === 3, 10_000);
      expect(forwarded).toEqual(['1', '3', '2']);
      expect(numbers(client)).toEqual([1, 2, 3]);
      expect(client.events('n').map((e) => e.id)).toEqual(range(1, 3).map((i) => `overtaken:${i}`));
      // Nothing comes twice once the held publish lands.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(client.events('n')).toHaveLength(3);
    } finally {
      await writer.close();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('sends nothing new while a failed publish is retried, so a retry is not overtaken', async () => {
    // Event 2's first attempt is answered 500; its retry is held on its way
    // while event 3 is sent: 3 must not leave before the retry has landed.
    const arrived: string[] = [];
    let attempts = 0;
    let releaseRetry!: () => void;
    const retryHeld = new Promise<void>((resolve) => (releaseRetry = resolve));
    const relay = await relayPublishes({
      to: () => pushpin.publishUrl,
      onArrive: (ids) => arrived.push(...ids),
      decide: (ids) => {
        if (!ids.includes('2')) return undefined;
        attempts++;
        return attempts === 1 ? { fail: true } : { until: retryHeld };
      },
    });
    const writer = await behindRelay(relay);
    try {
      const client = connect('retried');
      await client.until((c) => c.opens === 1);
      await writer.events.sendEvent('retried', 'n', 1);
      await client.until((c) => c.events('n').length === 1);
      await writer.events.sendEvent('retried', 'n', 2);
      await waitFor(() => attempts === 2);
      await writer.events.sendEvent('retried', 'n', 3);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(arrived).toEqual(['1', '2', '2']);
      releaseRetry();
      await client.until((c) => c.events('n').length === 3, 10_000);
      expect(arrived).toEqual(['1', '2', '2', '3']);
      expect(numbers(client)).toEqual([1, 2, 3]);
    } finally {
      releaseRetry();
      await writer.close();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('publishes an event sent in the app’s transaction once it commits, and never a rolled-back one', async () => {
    let published = 0;
    const relay = await relayPublishes({
      to: () => pushpin.publishUrl,
      onEvents: (events) => (published += events),
    });
    const publishPort = new URL(pushpin.publishUrl).port;
    const relayPort = (relay.address() as AddressInfo).port;
    const writer = await startHttpApp({
      options: {
        databaseUrl: db.url,
        grip: { url: pushpin.gripUrl.replace(`:${publishPort}/`, `:${relayPort}/`) },
      },
    });
    const client = connect('tx-live');
    await client.until((c) => c.opens === 1);
    const connection = new Client({ connectionString: db.url });
    await connection.connect();
    try {
      await connection.query('BEGIN');
      await writer.events.sendEvent('tx-live', 'n', 1, { transaction: connection });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(published).toBe(0);
      await connection.query('COMMIT');
      // Published by the writer once it hears the commit.
      await waitFor(() => published === 1);
      await client.until((c) => c.events('n').length === 1);

      await connection.query('BEGIN');
      await writer.events.sendEvent('tx-live', 'n', 99, { transaction: connection });
      await connection.query('ROLLBACK');
      await writer.events.sendEvent('tx-live', 'n', 2);
      await client.until((c) => c.events('n').length === 2);
      expect(client.events('n').map((e) => [e.id, e.data])).toEqual([
        ['tx-live:1', '1'],
        ['tx-live:2', '2'],
      ]);
      expect(published).toBe(2);
    } finally {
      await connection.end();
      await writer.close();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('delivers an event whose writer died right after the app’s transaction committed', async () => {
    const writer = await startHttpApp({
      options: { databaseUrl: db.url, grip: { url: pushpin.gripUrl } },
    });
    const client = connect('tx-orphan');
    await client.until((c) => c.opens === 1);
    const connection = new Client({ connectionString: db.url });
    await connection.connect();
    try {
      await connection.query('BEGIN');
      await writer.events.sendEvent('tx-orphan', 'n', 1, { transaction: connection });
      // Gone before the commit is heard: nobody publishes event 1.
      await writer.close();
      await connection.query('COMMIT');
    } finally {
      await connection.end();
    }
    // Event 2 names 1 as its prev-id: Pushpin recovers 1 through the next link.
    await front.events.sendEvent('tx-orphan', 'n', 2);
    await client.until((c) => c.events('n').length === 2, 20_000);
    expect(client.events('n').map((e) => e.id)).toEqual(['tx-orphan:1', 'tx-orphan:2']);
  });

  it('sends many events in few publish requests under load, in order', async () => {
    const requests: number[] = [];
    const counter = await relayPublishes({
      to: () => pushpin.publishUrl,
      onEvents: (events) => requests.push(events),
    });
    const counterPort = (counter.address() as AddressInfo).port;
    const publishPort = new URL(pushpin.publishUrl).port;
    const busy = await startHttpApp({
      options: {
        databaseUrl: db.url,
        grip: { url: pushpin.gripUrl.replace(`:${publishPort}/`, `:${counterPort}/`) },
      },
    });
    try {
      const client = connect('busy');
      await client.until((c) => c.opens === 1);
      const total = 300;
      await Promise.all(
        Array.from({ length: total }, (_, i) => busy.events.sendEvent('busy', 'n', i + 1)),
      );
      await client.until((c) => c.events('n').length === total, 20_000);
      // Seqs follow commit order, which concurrent sends do not fix: the
      // ids must be 1..total in order, each once.
      expect(client.events('n').map((e) => e.id)).toEqual(range(1, total).map((i) => `busy:${i}`));
      expect(requests.reduce((sum, n) => sum + n, 0)).toBe(total);
      expect(requests.length).toBeLessThan(total / 2);
    } finally {
      await busy.close();
      await new Promise((resolve) => counter.close(resolve));
    }
  });

  it('misses nothing when Pushpin is down while events are sent, once clients reconnect', async () => {
    const { client, balancer } = await connectBalanced('outage');
    await client.until((c) => c.opens === 1);
    await front.events.sendEvent('outage', 'n', 1);
    await client.until((c) => c.events('n').length === 1);

    await balancer.refuse();
    await pushpin.down();
    // Sends never wait on the proxy: these commit while it is gone.
    for (let i = 2; i <= 4; i++) await front.events.sendEvent('outage', 'n', i);
    await pushpin.up();
    await balancer.forward();

    await client.until((c) => c.events('n').length === 4, 20_000);
    await front.events.sendEvent('outage', 'n', 5);
    await client.until((c) => c.events('n').length === 5);
    expect(numbers(client)).toEqual(range(1, 5));
    expect(client.opens).toBe(2);
  });

  it('misses nothing when Pushpin is killed (SIGKILL) and started again', async () => {
    const { client, balancer } = await connectBalanced('killed');
    await client.until((c) => c.opens === 1);
    await front.events.sendEvent('killed', 'n', 1);
    await client.until((c) => c.events('n').length === 1);
    await balancer.refuse();
    await pushpin.kill();
    for (let i = 2; i <= 3; i++) await front.events.sendEvent('killed', 'n', i);
    await pushpin.up();
    await balancer.forward();
    await client.until((c) => c.events('n').length === 3, 20_000);
    await front.events.sendEvent('killed', 'n', 4);
    await client.until((c) => c.events('n').length === 4);
    expect(numbers(client)).toEqual(range(1, 4));
    // The held stream died with Pushpin: the client came back with its id.
    expect(client.opens).toBeGreaterThanOrEqual(2);
  });

  it('misses nothing across a Pushpin restart', async () => {
    const { client, balancer } = await connectBalanced('restart');
    await client.until((c) => c.opens === 1);
    await front.events.sendEvent('restart', 'n', 1);
    await client.until((c) => c.events('n').length === 1);
    await balancer.refuse();
    await pushpin.restart();
    await balancer.forward();
    await front.events.sendEvent('restart', 'n', 2);
    await client.until((c) => c.events('n').length === 2, 20_000);
    expect(numbers(client)).toEqual([1, 2]);
  });
});

/**
 * Stands between an instance and Pushpin's publish API: passes each publish
 * on after `delayMs`, telling how many items it carried.
 */
async function relayPublishes(options: {
  readonly to?: () => string;
  /** How long to hold each request before passing it on. */
  readonly delayMs?: number;
  /**
   * By a request's event ids (seqs): hold it until `until` settles before
   * passing it on, or answer it 500 without passing it on.
   */
  readonly decide?: (
    ids: readonly string[],
  ) => { readonly until?: Promise<unknown>; readonly fail?: boolean } | undefined;
  /** Called as each request comes in, and as it is passed on, with its event ids. */
  readonly onArrive?: (ids: readonly string[]) => void;
  readonly onForward?: (ids: readonly string[]) => void;
  /** Events per publish request. */
  readonly onEvents?: (events: number) => void;
}): Promise<Server> {
  const relay = createServer((request, response) => {
    // The start-up check only needs an answer.
    if (request.method !== 'POST') return response.end();
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      // Each event goes as two items, one for each way a stream holds its
      // channel; the single-channel one counts it.
      const { items } = JSON.parse(body) as { items: { channel: string; id?: string }[] };
      const single = items.filter((item) => item.channel.startsWith('stream-'));
      options.onEvents?.(single.length);
      const ids = single.map((item) => item.id ?? '');
      options.onArrive?.(ids);
      const decision = options.decide?.(ids);
      if (decision?.fail) {
        response.writeHead(500);
        return response.end('failed on purpose');
      }
      const forward = () => {
        options.onForward?.(ids);
        void fetch(`${options.to?.()}${request.url}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
        }).then(async (answer) => {
          response.writeHead(answer.status);
          response.end(await answer.text());
        });
      };
      const delay = new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
      void Promise.all([delay, decision?.until]).then(forward);
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return relay;
}
