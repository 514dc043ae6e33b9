import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelAccess } from '../../src/eventstream';
import { ClientRecorder } from '../harness/client-recorder';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { countStreamRequests, PLATFORMS, startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { TcpProxy } from '../harness/tcp-proxy';
import { userFromHeader } from '../harness/test-user';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface User {
  readonly id: string;
}

/**
 * The client in Node against the real module over real sockets: a serving app
 * reached through a TCP proxy (to cut the network for real), whose database is
 * also behind one (a real 503), and a second instance that writes.
 */
describe('the client in Node, against the events endpoint', () => {
  let db: TestDatabase;
  let dbProxy: TcpProxy;
  let appProxy: TcpProxy;
  let server: HttpApp;
  let writer: EventStreamInstance;
  const clients: ClientRecorder[] = [];
  /** Stream requests the server received, per channel. */
  const requests = new Map<string, number>();
  /** Users who may read `revocable`. */
  const revocable = new Set<string>();

  const url = (query = '') => `http://127.0.0.1:${appProxy.port}/events${query}`;
  const client = (types: string[], options: ConstructorParameters<typeof ClientRecorder>[2]) => {
    const recorder = new ClientRecorder(url(), types, options);
    clients.push(recorder);
    return recorder;
  };
  const send = (channel: string, data: unknown) => writer.events.sendEvent(channel, 'm', data);

  beforeAll(async () => {
    db = await createTestDatabase();
    const viaProxy = await TcpProxy.inFrontOf(db.url);
    dbProxy = viaProxy.proxy;
    writer = await startEventStream({ databaseUrl: db.url });
    server = await startHttpApp({
      options: {
        databaseUrl: viaProxy.url,
        connectTimeoutMs: 1_000,
        queryTimeoutMs: 1_500,
        resolveUser: userFromHeader,
        authorizer: {
          canReadChannel: (user: User | undefined, channel: string): ChannelAccess => {
            if (channel === 'secret') return false;
            if (channel === 'private') return user !== undefined;
            if (channel === 'revocable') return user !== undefined && revocable.has(user.id);
            return true;
          },
        },
      },
      configure: (app) => app.use(countStreamRequests(requests)),
    });
    const { port } = new URL(server.baseUrl);
    appProxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(port) });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await appProxy?.stop();
    await server?.close();
    await writer?.close();
    await dbProxy?.stop();
    await db?.drop();
  });

  it('delivers JSON-decoded events of several channels with composite ids', async () => {
    const c = client(['m'], { channels: ['alpha', 'beta'] });
    await c.until(() => c.stream.state === 'open');
    // No order holds across channels: each is sent once the last one arrived.
    await send('alpha', { n: 1 });
    await c.until(() => c.received.length === 1);
    await send('beta', 'two');
    await c.until(() => c.received.length === 2);
    await send('alpha', null);
    await c.until(() => c.received.length === 3);
    expect(c.received).toEqual([
      { type: 'm', id: 'alpha:1,beta:0', data: { n: 1 } },
      { type: 'm', id: 'alpha:1,beta:1', data: 'two' },
      { type: 'm', id: 'alpha:2,beta:1', data: null },
    ]);
    expect(c.stream.lastEventId).toBe('alpha:2,beta:1');
    expect(c.states).toEqual(['open']);
    expect(c.errors).toEqual([]);
  });

  it('resumes after refused connects and a cut connection: every event once, in order', async () => {
    const c = client(['m'], { channels: ['resume'] });
    await c.until(() => c.stream.state === 'open');
    for (const n of [1, 2, 3]) await send('resume', n);
    await c.until(() => c.received.length === 3);

    await appProxy.refuse();
    for (const n of [4, 5, 6]) await send('resume', n);
    await c.until(() => c.errors.some((e) => e.condition === 'network-error'));
    expect(c.stream.state).toBe('reconnecting');
    await appProxy.forward();
    await c.until(() => c.received.length === 6);

    appProxy.dropConnections();
    for (const n of [7, 8, 9]) await send('resume', n);
    await c.until(() => c.received.length === 9);

    expect(c.data()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.received.map((e) => e.id)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `resume:${n}`),
    );
    expect(c.errors.every((e) => !e.terminal)).toBe(true);
    expect(c.stream.state).toBe('open');
  });

  it('retries through 503 answers while the database is down, then catches up', async () => {
    const c = client(['m'], { channels: ['outage'] });
    await c.until(() => c.stream.state === 'open');
    await send('outage', 1);
    await c.until(() => c.received.length === 1);

    await dbProxy.refuse();
    try {
      appProxy.dropConnections();
      await c.until(() => c.errors.filter((e) => e.status === 503).length >= 2);
      await send('outage', 2);
    } finally {
      await dbProxy.forward();
    }
    await c.until(() => c.received.length === 2);

    expect(c.data()).toEqual([1, 2]);
    const unavailable = c.errors.find((e) => e.status === 503);
    expect(unavailable).toMatchObject({ condition: 'unavailable', terminal: false });
    expect(c.stream.state).toBe('open');
  });

  it.each([
    ['secret', { 'x-user': 'u1' }, 403, 'forbidden'],
    ['private', {}, 401, 'unauthorized'],
    ['bad name', {}, 400, 'bad-request'],
  ])('stops for good on a refusal: %s', async (channel, headers, status, condition) => {
    const c = client(['m'], { channels: [channel], headers });
    await c.until(() => c.stream.state === 'closed');
    expect(c.errors).toEqual([expect.objectContaining({ status, condition, terminal: true })]);
    expect(c.errors[0].message).not.toBe('');
    // A retry would come within the first backoff delay (at most 100 ms here).
    await sleep(1_000);
    expect(requests.get(channel)).toBe(1);
    expect(c.states).toEqual(['closed']);
  });

  it('calls onReset when its position is gone, and goes on from the reset id', async () => {
    await send('resetme', 1);
    await send('resetme', 2);
    const c = client(['m'], { channels: ['resetme'], lastEventId: 'resetme:50' });
    await c.until(() => c.resets.length === 1);
    expect(c.resets).toEqual([{ channels: ['resetme'], id: 'resetme:2' }]);
    expect(c.stream.lastEventId).toBe('resetme:2');
    await send('resetme', 3);
    await c.until(() => c.received.length === 1);
    expect(c.received).toEqual([{ type: 'm', id: 'resetme:3', data: 3 }]);
  });

  it('ends on a stream-error without reconnecting, keeping the last real id', async () => {
    revocable.add('u2');
    const c = client(['m'], { channels: ['revocable'], headers: { 'x-user': 'u2' } });
    await c.until(() => c.stream.state === 'open');
    await send('revocable', 'before');
    await c.until(() => c.received.length === 1);

    revocable.delete('u2');
    await server.events.channelPermissionChanged('u2', 'revocable');
    await c.until(() => c.stream.state === 'closed');

    expect(c.errors).toEqual([
      expect.objectContaining({ condition: 'forbidden', terminal: true, status: 200 }),
    ]);
    expect(c.stream.lastEventId).toBe('revocable:1');
    await sleep(1_000);
    expect(requests.get('revocable')).toBe(1);
  });

  it('resumes from a position kept by the app, given as lastEventId', async () => {
    for (const n of [1, 2, 3]) await send('kept', n);
    const c = client(['m'], { channels: ['kept'], lastEventId: 'kept:1' });
    await c.until(() => c.received.length === 2);
    expect(c.data()).toEqual([2, 3]);
  });
});

/**
 * Answers the format does not forbid but the module never gives (id-less
 * events, a 200 that is not a stream, a silent stream), scripted on a plain
 * HTTP server.
 */
describe('the client in Node, against a scripted server', () => {
  let server: Server;
  let base: string;
  let answer: (n: number, response: ServerResponse) => void;
  let positions: (string | null)[];
  const open = (response: ServerResponse) => {
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
    response.write('event: stream-open\ndata: \n\n');
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      positions.push(new URL(request.url ?? '/', 'http://x').searchParams.get('lastEventId'));
      answer(positions.length, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => (positions = []));
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('moves its position only on real ids, and retries a 503, a non-stream 200 and a silent stream', async () => {
    answer = (n, response) => {
      if (n === 1) {
        open(response);
        response.write('event: m\nid: s:1\ndata: 1\n\n');
        response.write('event: m\ndata: 2\n\n'); // no id: the position stays
        response.write('event: keep-alive\ndata: \n\n');
        response.end();
      } else if (n === 2) {
        response.writeHead(503, { 'Content-Type': 'text/plain' }).end('deploying');
      } else if (n === 3) {
        response.writeHead(200, { 'Content-Type': 'text/html' }).end('<p>maintenance</p>');
      } else if (n === 4) {
        open(response);
        response.write('event: m\nid: s:2\ndata: 3\n\n'); // then silence
      } else {
        open(response);
        response.end('event: stream-error\nid: error\ndata: {"condition":"gone","text":"bye"}\n\n');
      }
    };
    const c = new ClientRecorder(`${base}/events?channel=s`, ['m'], { idleTimeoutMs: 500 });
    try {
      await c.until(() => c.stream.state === 'closed');
      expect(c.received).toEqual([
        { type: 'm', id: 's:1', data: 1 },
        { type: 'm', id: undefined, data: 2 },
        { type: 'm', id: 's:2', data: 3 },
      ]);
      expect(positions).toEqual([null, 's:1', 's:1', 's:1', 's:2']);
      expect(c.errors.map((e) => [e.condition, e.status, e.terminal])).toEqual([
        ['disconnected', undefined, false],
        ['http-error', 503, false],
        ['protocol-error', 200, false],
        ['idle-timeout', undefined, false],
        ['gone', 200, true],
      ]);
      expect(c.stream.lastEventId).toBe('s:2');
      expect(c.states).toEqual(['open', 'reconnecting', 'open', 'reconnecting', 'open', 'closed']);
    } finally {
      c.close();
    }
  });

  it('retries a 429, and stops with a clear error on a 431 for the position it was given', async () => {
    // Node's own header limit, made small: the reconnect that carries the
    // long id is answered 431 before any handler runs, as it would be for
    // any server that wrote an id longer than it takes back.
    const ids: (string | null)[] = [];
    const small = createServer({ maxHeaderSize: 2048 }, (request, response) => {
      ids.push(new URL(request.url ?? '/', 'http://x').searchParams.get('lastEventId'));
      if (ids.length === 1) return response.writeHead(429).end();
      open(response);
      response.end(`event: m\nid: s:${'9'.repeat(3000)}\ndata: 1\n\n`);
    });
    await new Promise<void>((resolve) => small.listen(0, '127.0.0.1', resolve));
    const { port } = small.address() as AddressInfo;
    const c = new ClientRecorder(`http://127.0.0.1:${port}/events?channel=s`, ['m']);
    try {
      await c.until(() => c.stream.state === 'closed');
      expect(ids).toEqual([null, null]);
      expect(c.received).toHaveLength(1);
      expect(c.errors.map((e) => [e.condition, e.status, e.terminal])).toEqual([
        ['http-error', 429, false],
        ['disconnected', undefined, false],
        ['request-too-large', 431, true],
      ]);
      expect(c.errors[2].message).toMatch(
        /^HTTP 431: the server refused the request as too large, a URL of \d+ characters \(3002 of them the position, lastEventId\)/,
      );
      expect(c.stream.lastEventId).toHaveLength(3002);
      // A retry would come within the first backoff delay (at most 100 ms here).
      await sleep(1_000);
      expect(c.errors).toHaveLength(3);
      expect(c.states).toEqual(['open', 'reconnecting', 'closed']);
    } finally {
      c.close();
      small.closeAllConnections();
      await new Promise((resolve) => small.close(resolve));
    }
  });

  it('waits as long as a refusal asks in Retry-After, in seconds or as a date', async () => {
    const at: number[] = [];
    answer = (n, response) => {
      at.push(Date.now());
      if (n === 1) return response.writeHead(503, { 'Retry-After': '1' }).end();
      if (n === 2) {
        const date = new Date(Date.now() + 2_500).toUTCString();
        return response.writeHead(429, { 'Retry-After': date }).end();
      }
      open(response);
      response.end('event: stream-error\nid: error\ndata: {"condition":"gone","text":"bye"}\n\n');
    };
    const c = new ClientRecorder(`${base}/events?channel=s`, ['m']);
    try {
      await c.until(() => c.stream.state === 'closed', 10_000);
      expect(c.errors.map((e) => [e.status, e.retryAfterMs !== undefined])).toEqual([
        [503, true],
        [429, true],
        [200, false],
      ]);
      expect(c.errors[0].retryAfterMs).toBe(1_000);
      // Without Retry-After the recorder's backoff retries within 100 ms.
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(1_000);
      // The date has whole seconds: 1.5 to 2.5 s ahead of the answer.
      expect(at[2] - at[1]).toBeGreaterThanOrEqual(1_400);
    } finally {
      c.close();
    }
  });

  it('stops on 204, and close() stops the retries', async () => {
    answer = (n, response) => response.writeHead(n === 1 ? 503 : 204).end();
    const c = new ClientRecorder(`${base}/events?channel=s`, ['m']);
    await c.until(() => c.stream.state === 'closed');
    expect(positions).toHaveLength(2);

    positions = [];
    answer = (_n, response) => response.writeHead(503).end();
    const retrying = new ClientRecorder(`${base}/events?channel=s`, ['m']);
    await retrying.until(() => retrying.errors.length >= 2);
    retrying.close();
    const made = positions.length;
    await sleep(1_000);
    expect(positions.length).toBe(made);
    expect(retrying.states.at(-1)).toBe('closed');
  });
});

describe.each(PLATFORMS)('the client in Node, against the app on %s answering 431', (platform) => {
  let db: TestDatabase;
  let server: HttpApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startHttpApp({ platform, options: { databaseUrl: db.url } });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it("stops with request-too-large on a position past Node's header limit", async () => {
    const lastEventId = `a:${'1'.repeat(17_000)}`;
    const c = new ClientRecorder(server.streamUrl(''), ['m'], { channels: ['a'], lastEventId });
    try {
      await c.until(() => c.stream.state === 'closed');
      expect(c.errors.map((e) => [e.condition, e.status, e.terminal])).toEqual([
        ['request-too-large', 431, true],
      ]);
      expect(c.errors[0].message).toContain('(17002 of them the position, lastEventId)');
      await sleep(1_000);
      expect(c.errors).toHaveLength(1);
      expect(c.states).toEqual(['closed']);
    } finally {
      c.close();
    }
  });
});
