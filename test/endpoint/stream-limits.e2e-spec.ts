import { Controller } from '@nestjs/common';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { interval, map } from 'rxjs';
import { EventStreamRoute, type EventStreamModuleOptions } from '../../src/eventstream';
import { StreamSlots } from '../../src/eventstream/limits/stream-slots';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { waitFor } from '../harness/wait';

/** An answer read on a socket of its own; `close()` ends a stream that is still open. */
interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** What arrived so far; the whole body of a refusal, which ends at once. */
  body(): string;
  ended(): Promise<void>;
  close(): void;
}

/**
 * GETs `url` on a new connection and resolves once the status line has come,
 * without waiting for the body: a stream stays open until `close()`.
 */
function open(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent: false, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      const ended = new Promise<void>((done) => response.once('close', done));
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: () => body,
        ended: () => ended,
        close: () => request.destroy(),
      });
    });
    request.once('error', reject);
    request.end();
  });
}

async function refusal(answer: Answer): Promise<string> {
  await answer.ended();
  return answer.body();
}

async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((text) => text.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const appStreamRuns = { started: 0 };

@Controller()
class TickerController {
  @EventStreamRoute('ticker')
  ticker() {
    appStreamRuns.started++;
    return interval(60_000).pipe(map((n) => ({ type: 'tick', data: n })));
  }
}

const SIG_KEY = 'limits-test-key-0123456789abcdefghijklmnop';

describe('caps on open streams', () => {
  let db: TestDatabase;
  const apps: HttpApp[] = [];
  const answers: Answer[] = [];
  const start = async (options: Partial<EventStreamModuleOptions>, registry = new Registry()) => {
    const app = await startHttpApp({
      options: { databaseUrl: db.url, metrics: { registry }, ...options },
      metadata: { controllers: [TickerController] },
    });
    apps.push(app);
    const slots = app.app.get(StreamSlots);
    const get = async (path: string, headers?: Record<string, string>) => {
      const answer = await open(`${app.baseUrl}/${path}`, headers);
      answers.push(answer);
      return answer;
    };
    return { app, registry, slots, get };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    answers.splice(0).forEach((answer) => answer.close());
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('answers the stream past maxStreams with 503, Retry-After and the reason, and counts it', async () => {
    const origin = 'https://app.example';
    const { registry, get } = await start({ maxStreams: 5, cors: { origins: [origin] } });
    for (let i = 0; i < 5; i++) expect((await get(`events?channel=c${i}`)).status).toBe(200);

    const json = await get('events?channel=more');
    expect(json.status).toBe(503);
    expect(json.headers['retry-after']).toBe('10');
    expect(json.headers.connection).toBe('close');
    expect(JSON.parse(await refusal(json))).toEqual({
      statusCode: 503,
      error: 'unavailable',
      message: 'This server holds its most streams (5); try again later',
    });

    const sse = await get('events?channel=more', { Accept: 'text/event-stream', Origin: origin });
    expect(sse.status).toBe(503);
    expect(sse.headers['retry-after']).toBe('10');
    // A page on another origin may read it, and wait as asked.
    expect(sse.headers['access-control-allow-origin']).toBe(origin);
    expect(sse.headers['access-control-expose-headers']).toBe('Retry-After');
    expect(await refusal(sse)).toBe(
      'event: stream-error\nid: error\n' +
        'data: {"condition":"unavailable","text":"This server holds its most streams (5); try again later"}\n\n',
    );
    expect(await sample(registry, 'eventstream_streams_refused_total{limit="maxStreams"}')).toBe(2);
  });

  it('gives a slot back when a stream closes, and when a request is refused for another reason', async () => {
    const { slots, get } = await start({
      maxStreams: 2,
      authorizer: { canReadChannel: (_user: unknown, channel: string) => channel !== 'secret' },
    });
    const first = await get('events?channel=a');
    expect((await get('events?channel=b')).status).toBe(200);
    expect((await get('events?channel=c')).status).toBe(503);

    first.close();
    await waitFor(() => slots.size === 1);
    expect((await get('events?channel=c')).status).toBe(200);
    expect((await get('events?channel=d')).status).toBe(503);

    // Refused after it took its slot: the slot comes back with the answer.
    answers.splice(0).forEach((answer) => answer.close());
    await waitFor(() => slots.size === 0);
    for (let i = 0; i < 5; i++) expect((await get('events?channel=secret')).status).toBe(401);
    expect((await get('events?channel=a')).status).toBe(200);
    expect((await get('events?channel=b')).status).toBe(200);
  });

  it('never admits more than maxStreams when many streams open at once', async () => {
    // A slow authorizer keeps every request between its admission and its
    // stream's start at the same time: a cap checked after it would pass all.
    const { slots, get } = await start({
      maxStreams: 5,
      authorizer: {
        canReadChannel: () => new Promise<boolean>((resolve) => setTimeout(resolve, 100, true)),
      },
    });
    const statuses = (
      await Promise.all(Array.from({ length: 40 }, (_, i) => get(`events?channel=c${i % 7}`)))
    ).map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 503)).toHaveLength(35);
    expect(slots.size).toBe(5);
  });

  it('counts app streams, and refuses one before its method runs', async () => {
    const { get } = await start({ maxStreams: 3 });
    expect((await get('events?channel=a')).status).toBe(200);
    const before = appStreamRuns.started;
    expect((await get('ticker')).status).toBe(200);
    expect((await get('ticker')).status).toBe(200);
    expect(appStreamRuns.started).toBe(before + 2);

    const ticker = await get('ticker');
    expect(ticker.status).toBe(503);
    expect(ticker.headers['retry-after']).toBe('10');
    expect(JSON.parse(await refusal(ticker))).toMatchObject({ error: 'unavailable' });
    expect((await get('events?channel=b')).status).toBe(503);
    expect(appStreamRuns.started).toBe(before + 2);
  });

  it('answers a client past maxStreamsPerClient with 429 while other clients connect', async () => {
    const { registry, get } = await start({
      maxStreams: 10,
      maxStreamsPerClient: {
        max: 2,
        key: (request) => String((request as { headers: IncomingHttpHeaders }).headers['x-client']),
      },
    });
    const as = (client: string) => ({ 'X-Client': client });
    const a1 = await get('events?channel=a', as('a'));
    expect(a1.status).toBe(200);
    expect((await get('ticker', as('a'))).status).toBe(200);

    const refused = await get('events?channel=a', as('a'));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    expect(JSON.parse(await refusal(refused))).toEqual({
      statusCode: 429,
      error: 'too-many-requests',
      message: 'This client holds its most streams (2); close one or try again later',
    });
    expect((await get('ticker', as('a'))).status).toBe(429);
    expect((await get('events?channel=a', as('b'))).status).toBe(200);
    expect((await get('events?channel=a', as('b'))).status).toBe(200);
    expect(
      await sample(registry, 'eventstream_streams_refused_total{limit="maxStreamsPerClient"}'),
    ).toBe(2);

    a1.close();
    await waitFor(async () => (await get('events?channel=a', as('a'))).status === 200);
  });

  it('keys clients by their address by default', async () => {
    const { get } = await start({ maxStreamsPerClient: { max: 1 } });
    expect((await get('events?channel=a')).status).toBe(200);
    expect((await get('events?channel=a')).status).toBe(429);
  });

  it('GRIP mode: counts unsigned direct streams, not requests handed to the proxy', async () => {
    const { get } = await start({
      maxStreams: 2,
      // Nothing listens there: these tests publish nothing.
      grip: { url: `http://127.0.0.1:9/?iss=pushpin&key=${SIG_KEY}` },
    });
    expect((await get('events?channel=a')).status).toBe(200);
    expect((await get('events?channel=a')).status).toBe(200);
    expect((await get('events?channel=a')).status).toBe(503);

    const signed = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('pushpin')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SIG_KEY));
    const proxied = await get('events?channel=a', { 'Grip-Sig': signed });
    expect(proxied.status).toBe(200);
    expect(proxied.headers['grip-hold']).toBe('stream');
  });
});
