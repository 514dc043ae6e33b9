import { connect, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { REQUEST_TIMEOUTS } from '../../src/server/request-timeouts';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';
import { waitFor } from '../harness/wait';

const KEY = 'limits-publish-key-0123456789';

interface Held {
  readonly status: number;
  readonly retryAfter: string | undefined;
  body(): string;
  close(): void;
}

/** A GET on a connection of its own, resolved at its status line; its body keeps arriving. */
function hold(url: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      resolve({
        status: response.statusCode ?? 0,
        retryAfter: response.headers['retry-after'],
        body: () => body,
        close: () => request.destroy(),
      });
    });
    request.once('error', reject);
    request.end();
  });
}

/** Writes `text` on a raw socket and resolves with what came back and when the socket closed. */
function rawRequest(
  port: number,
  text: string,
): { socket: Socket; done: Promise<{ answer: string; afterMs: number }> } {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1', () => socket.write(text));
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  const done = new Promise<{ answer: string; afterMs: number }>((resolve, reject) => {
    socket.once('close', () => resolve({ answer, afterMs: Date.now() - started }));
    socket.once('error', reject);
  });
  return { socket, done };
}

describe('the bundled server under load from one client', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const held: Held[] = [];
  const port = () => Number(new URL(server.baseUrl).port);
  const publish = (channel: string, data: unknown) =>
    fetch(`${server.baseUrl}/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ channel, type: 'story', data }),
    });
  const open = async (channel: string) => {
    const stream = await hold(`${server.baseUrl}/events?channel=${channel}`);
    held.push(stream);
    return stream;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      EVENTSTREAM_PUBLISH_KEY: KEY,
      EVENTSTREAM_METRICS: 'on',
      EVENTSTREAM_MAX_STREAMS: '5',
    });
  });
  afterEach(() => held.splice(0).forEach((stream) => stream.close()));
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('past EVENTSTREAM_MAX_STREAMS, refuses streams with 503 while /health and POST /publish answer', async () => {
    const streams: Held[] = [];
    for (let i = 0; i < 5; i++) streams.push(await open('news'));
    expect(streams.map((stream) => stream.status)).toEqual([200, 200, 200, 200, 200]);

    const refused = await open('news');
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('10');

    const health = await fetch(`${server.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'up' });
    const published = await publish('news', 'still publishing');
    expect(published.status).toBe(201);
    // The streams already open go on.
    await waitFor(() => streams.every((stream) => stream.body().includes('still publishing')));

    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metrics).toContain('eventstream_streams_refused_total{limit="maxStreams"} 1');

    streams[0].close();
    await waitFor(async () => (await open('news')).status === 200);
  });

  it('answers headers that never end with 408 after headersTimeout', async () => {
    const { done } = rawRequest(port(), 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const { answer, afterMs } = await done;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUTS.headersTimeout - 100);
    expect(afterMs).toBeLessThan(
      REQUEST_TIMEOUTS.headersTimeout + REQUEST_TIMEOUTS.connectionsCheckingInterval + 2_000,
    );
  });

  it('answers a body that never ends with 408 after requestTimeout, and keeps a stream open as long', async () => {
    const stream = await open('long');
    const { done } = rawRequest(
      port(),
      'POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${KEY}\r\nContent-Length: 100\r\n\r\n{"channel":`,
    );
    const { answer, afterMs } = await done;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUTS.requestTimeout - 100);
    expect(afterMs).toBeLessThan(
      REQUEST_TIMEOUTS.requestTimeout + REQUEST_TIMEOUTS.connectionsCheckingInterval + 2_000,
    );

    // The stream, open for longer than requestTimeout by now, still delivers.
    expect((await publish('long', 'after the deadline')).status).toBe(201);
    await waitFor(() => stream.body().includes('after the deadline'));
  });
});
