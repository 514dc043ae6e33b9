import compression from 'compression';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { TcpProxy } from '../harness/tcp-proxy';
import { waitFor } from '../harness/wait';

describe('delivery in direct mode', () => {
  let db: TestDatabase;
  const apps: HttpApp[] = [];
  const clients: SseRecorder[] = [];
  const start = async (options: Parameters<typeof startHttpApp>[0]['options'] = {}) => {
    const app = await startHttpApp({ options: { databaseUrl: db.url, ...options } });
    apps.push(app);
    return app;
  };
  const record = (url: string, headers?: Record<string, string>) => {
    const client = new SseRecorder(url, { headers, eventTypes: ['n'] });
    clients.push(client);
    return client;
  };
  const numbers = (client: SseRecorder) => client.events('n').map((e) => Number(e.data));
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(() => db?.drop());

  it('delivers every event to clients of every instance sharing the database', async () => {
    const [a, b] = [await start(), await start()];
    const onA = record(a.streamUrl('channel=shared'));
    const onB = record(b.streamUrl('channel=shared'));
    await onA.until((c) => c.opens === 1);
    await onB.until((c) => c.opens === 1);
    for (let i = 1; i <= 20; i++) {
      await (i % 2 ? a : b).events.sendEvent('shared', 'n', i);
    }
    await onA.until((c) => c.events('n').length === 20);
    await onB.until((c) => c.events('n').length === 20);
    expect(numbers(onA)).toEqual(range(20));
    expect(numbers(onB)).toEqual(range(20));
  });

  it('sends the same bytes for an event whether replayed, live, or from another instance', async () => {
    const [a, b] = [await start(), await start()];
    const frameOf = async (url: string) => {
      const { response } = await openStream(url);
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      return {
        frame: async () => {
          await waitFor(() => text.includes('id: same:1\n'));
          response.destroy();
          return text.slice(
            text.indexOf('event: n\n'),
            text.indexOf('\n\n', text.indexOf('id: same:1')) + 2,
          );
        },
        opened: () => text.includes('stream-open'),
      };
    };
    const liveOnA = await frameOf(a.streamUrl('channel=same'));
    const liveOnB = await frameOf(b.streamUrl('channel=same'));
    await waitFor(() => liveOnA.opened() && liveOnB.opened());
    await a.events.sendEvent('same', 'n', { text: 'line\nbreak', emoji: '😀' });
    const replayed = await frameOf(b.streamUrl('channel=same&lastEventId=same:0'));
    const frames = await Promise.all([liveOnA.frame(), liveOnB.frame(), replayed.frame()]);
    expect(frames[0]).toBe('event: n\nid: same:1\ndata: {"text":"line\\nbreak","emoji":"😀"}\n\n');
    expect(frames[1]).toBe(frames[0]);
    expect(frames[2]).toBe(frames[0]);
  });

  it('ends only the stream whose authorizer failed, and keeps serving', async () => {
    const app = await startHttpApp({
      options: {
        databaseUrl: db.url,
        authorizer: {
          canReadChannel: (_user: unknown, channel: string) => {
            if (channel === 'boom') throw new Error('authorizer bug');
            return true;
          },
        },
      },
    });
    apps.push(app);
    const failed = await fetch(app.streamUrl('channel=boom'));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({
      statusCode: 500,
      error: 'internal-error',
      message: 'Internal error',
    });
    const fine = record(app.streamUrl('channel=fine'));
    await fine.until((c) => c.opens === 1);
  });

  it('gives a client that keeps dropping every event exactly once, in order', async () => {
    const app = await start();
    const proxy = await TcpProxy.start({
      host: '127.0.0.1',
      port: Number(new URL(app.baseUrl).port),
    });
    try {
      const client = record(`http://127.0.0.1:${proxy.port}/events?channel=flaky`, {
        'Last-Event-ID': 'flaky:0',
      });
      await client.until((c) => c.opens === 1);
      const total = 150;
      let sent = 0;
      const writer = (async () => {
        while (sent < total) {
          await app.events.sendEvent('flaky', 'n', ++sent);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      })();
      // Cut the connection three times while events keep coming; each time
      // the client reconnects by itself with its Last-Event-ID.
      for (let cut = 1; cut <= 3; cut++) {
        await client.until((c) => c.opens === cut && c.events('n').length > 0, 20_000);
        proxy.dropConnections();
      }
      await writer;
      await client.until((c) => c.events('n').length >= total, 20_000);
      expect(numbers(client)).toEqual(range(total));
      expect(client.opens).toBeGreaterThanOrEqual(4);
    } finally {
      await proxy.stop();
    }
  });

  it('closes a client that stops reading, without buffering its backlog, and it resumes', async () => {
    let serverResponse: ServerResponse | undefined;
    const app = await startHttpApp({
      options: { databaseUrl: db.url, slowClientTimeoutMs: 1_000, replayPageSize: 10 },
      configure: (nest) =>
        nest.use((_: unknown, res: ServerResponse, next: () => void) => {
          serverResponse = res;
          next();
        }),
    });
    apps.push(app);
    // 24 MB of backlog: far more than the loopback socket buffers hold.
    const big = 'x'.repeat(60_000);
    for (let from = 1; from <= 400; from += 50) {
      await app.events.sendEvents(
        Array.from({ length: 50 }, (_, k) => ({
          channel: 'slow',
          type: 'n',
          data: { i: from + k, big },
        })),
      );
    }
    const { response, socket } = await openStream(app.streamUrl('channel=slow&lastEventId=slow:0'));
    socket.pause();
    await waitFor(() => app.hub.size === 1);
    // While the client does not read, the server holds at most about one
    // page (10 events of 60 KB) in memory: it waits for the socket to drain
    // before it reads the next page.
    let mostBuffered = 0;
    while (app.hub.size === 1) {
      mostBuffered = Math.max(mostBuffered, serverResponse?.writableLength ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(mostBuffered).toBeGreaterThan(0);
    expect(mostBuffered).toBeLessThan(2 * 10 * 60_100);
    // It gave up on the client after slowClientTimeoutMs and dropped it.
    const ended = new Promise((resolve) => socket.once('close', resolve));
    response.resume();
    socket.resume();
    await ended;

    const resumed = record(app.streamUrl('channel=slow'), { 'Last-Event-ID': 'slow:350' });
    await resumed.until((c) => c.events('n').length === 50);
    expect(resumed.events('n').map((e) => (JSON.parse(e.data) as { i: number }).i)).toEqual(
      range(50).map((i) => i + 350),
    );
  });

  it('leaves nothing behind when a client leaves in the middle of a replay', async () => {
    const app = await start({ replayPageSize: 5 });
    await app.events.sendEvents(
      Array.from({ length: 300 }, (_, i) => ({ channel: 'gone', type: 'n', data: i })),
    );
    const { response, socket } = await openStream(app.streamUrl('channel=gone&lastEventId=gone:0'));
    await new Promise((resolve) => response.once('data', resolve));
    socket.destroy();
    await waitFor(() => app.hub.size === 0);
    // The instance keeps serving.
    const next = record(app.streamUrl('channel=gone&lastEventId=gone:299'));
    await next.until((c) => c.events('n').length === 1);
  });

  it('pushes each event out at once behind the compression middleware', async () => {
    const app = await startHttpApp({
      options: { databaseUrl: db.url },
      configure: (nest) => nest.use(compression({ threshold: 0 })),
    });
    apps.push(app);
    const { response } = await openStream(app.streamUrl('channel=zipped'), {
      'Accept-Encoding': 'gzip',
    });
    const chunks: string[] = [];
    response.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
    await waitFor(() => chunks.join('').includes('event: stream-open'));
    await app.events.sendEvent('zipped', 'n', 1);
    await waitFor(() => chunks.join('').includes('id: zipped:1'));
    expect(response.headers['content-encoding']).toBeUndefined();
    response.destroy();
  });

  it('recovers from a lost LISTEN connection without losing events', async () => {
    const app = await start();
    const client = record(app.streamUrl('channel=relisten'));
    await client.until((c) => c.opens === 1);
    await app.events.sendEvent('relisten', 'n', 1);
    await client.until((c) => c.events('n').length === 1);
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'nestjs-eventstream-listen' AND datname = current_database()`,
    );
    // Sent while nobody listens: found again when the feed reconnects.
    await app.events.sendEvent('relisten', 'n', 2);
    await client.until((c) => c.events('n').length === 2);
    await app.events.sendEvent('relisten', 'n', 3);
    await client.until((c) => c.events('n').length === 3);
    expect(numbers(client)).toEqual([1, 2, 3]);
  });

  it('replays a backlog larger than a page’s bytes whole and in order', async () => {
    const app = await start();
    // 40 events of 20 KB: over three pages of at most 256 KiB of data.
    await app.events.sendEvents(
      range(40).map((n) => ({ channel: 'bulky', type: 'n', data: `${n}`.padEnd(20_000, '.') })),
    );
    const client = record(app.streamUrl('channel=bulky&lastEventId=bulky:0'));
    await client.until((c) => c.events('n').length === 40);
    expect(client.events('n').map((e) => e.id)).toEqual(range(40).map((n) => `bulky:${n}`));
    expect(client.events('n').map((e) => (JSON.parse(e.data) as string).length)).toEqual(
      range(40).map(() => 20_000),
    );
  });

  it('finds an event whose announcement was lost within the keep-alive interval', async () => {
    // As if the instance that committed it died before it could tell the others.
    const app = await start({ keepAliveMs: 500 });
    const client = record(app.streamUrl('channel=untold'));
    await client.until((c) => c.opens === 1);
    await db.query(
      `WITH bumped AS (
         INSERT INTO eventstream.channels (name, last_seq) VALUES ('untold', 1)
         ON CONFLICT (name) DO UPDATE SET last_seq = eventstream.channels.last_seq + 1
         RETURNING last_seq
       )
       INSERT INTO eventstream.events (channel, seq, type, data)
       SELECT 'untold', last_seq, 'n', '1' FROM bumped`,
    );
    await client.until((c) => c.events('n').length === 1, 5_000);
    expect(client.events('n').map((e) => e.id)).toEqual(['untold:1']);
  });

  it('ends every open stream when the application closes', async () => {
    const app = await startHttpApp({ options: { databaseUrl: db.url } });
    const { response } = await openStream(app.streamUrl('channel=closing'));
    const ended = new Promise<void>((resolve) => response.once('end', resolve));
    response.resume();
    await app.close();
    await ended;
    expect(app.hub.size).toBe(0);
  });
});

function openStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ response: IncomingMessage; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (response) =>
      resolve({ response, socket: response.socket }),
    );
    req.on('error', reject);
    req.end();
  });
}
