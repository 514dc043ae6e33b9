import { Controller, Get, Req, Res } from '@nestjs/common';
import { EventHistoryResponder, type HistoryPageBody } from '../../src/eventstream';
import { PLATFORMS, startHttpApp, type HttpApp, type Platform } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader, type TestUser as User } from '../harness/test-user';

@Controller('me')
class MyHistoryController {
  constructor(private readonly history: EventHistoryResponder) {}

  // The route decides the channel: the client cannot ask for another one.
  @Get('history')
  mine(@Req() request: object, @Res() response: object): Promise<void> {
    return this.history.serve(request, response, {
      channel: `inbox-${userFromHeader(request)?.id}`,
    });
  }
}

describe.each(PLATFORMS)('GET /events/history on %s', (platform: Platform) => {
  let db: TestDatabase;
  let app: HttpApp;
  const clients: SseRecorder[] = [];
  const history = async (query: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${app.baseUrl}/events/history?${query}`, { headers });
    return {
      status: response.status,
      headers: response.headers,
      body: await response.json(),
    };
  };
  const page = async (query: string, headers?: Record<string, string>) => {
    const { status, body } = await history(query, headers);
    expect(status).toBe(200);
    return body as HistoryPageBody;
  };
  const seqs = (body: HistoryPageBody) => body.events.map((e) => e.seq);
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const fill = (channel: string, count: number) =>
    app.events.sendEvents(
      Array.from({ length: count }, (_, i) => ({ channel, type: 'm', data: { n: i + 1 } })),
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startHttpApp({
      platform,
      options: {
        databaseUrl: db.url,
        cors: { origins: ['https://app.example'] },
        resolveUser: userFromHeader,
        authorizer: {
          canReadChannel: (user: User | undefined, channel: string) =>
            !channel.startsWith('secret') || user?.id === 'alice',
        },
      },
      metadata: { controllers: [MyHistoryController] },
    });
    await fill('room', 30);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('gives the newest events, oldest first, and the id to stream from', async () => {
    const body = await page('channel=room&limit=10');
    expect(seqs(body)).toEqual(range(21, 30));
    expect(body).toMatchObject({
      channel: 'room',
      lastEventId: 'room:30',
      headSeq: 30,
      hasMore: false,
      hasOlder: true,
    });
    expect(body.events[0]).toEqual({
      id: 'room:21',
      seq: 21,
      type: 'm',
      data: { n: 21 },
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    });
    expect((await page('channel=room')).events).toHaveLength(30);
  });

  it('pages back with before, and on with after', async () => {
    const back = await page('channel=room&before=21&limit=10');
    expect(seqs(back)).toEqual(range(11, 20));
    expect(back).toMatchObject({ lastEventId: 'room:20', hasMore: true, hasOlder: true });
    const first = await page('channel=room&before=11&limit=10');
    expect(seqs(first)).toEqual(range(1, 10));
    expect(first.hasOlder).toBe(false);

    const on = await page('channel=room&after=25&limit=3');
    expect(seqs(on)).toEqual([26, 27, 28]);
    expect(on).toMatchObject({ lastEventId: 'room:28', hasMore: true, hasOlder: true });
    const fromStart = await page('channel=room&after=0&limit=2');
    expect(seqs(fromStart)).toEqual([1, 2]);
    expect(fromStart.hasOlder).toBe(false);
  });

  it('answers a channel without events with an empty page at position 0', async () => {
    expect(await page('channel=quiet')).toEqual({
      channel: 'quiet',
      events: [],
      lastEventId: 'quiet:0',
      headSeq: 0,
      hasMore: false,
      hasOlder: false,
    });
  });

  it('lets a page render the last messages, then stream from its cursor without a gap', async () => {
    await fill('render', 12);
    const rendered = await page('channel=render&limit=5');
    expect(seqs(rendered)).toEqual(range(8, 12));
    // Sent while the page is rendering, before it opens the stream.
    await app.events.sendEvents([
      { channel: 'render', type: 'm', data: { n: 13 } },
      { channel: 'render', type: 'm', data: { n: 14 } },
    ]);
    const stream = new SseRecorder(
      app.streamUrl(`channel=render&lastEventId=${encodeURIComponent(rendered.lastEventId)}`),
      { eventTypes: ['m'] },
    );
    clients.push(stream);
    await stream.until((c) => c.events('m').length === 2);
    await app.events.sendEvent('render', 'm', { n: 15 });
    await stream.until((c) => c.events('m').length === 3);
    expect(stream.events('m').map((e) => e.id)).toEqual(['render:13', 'render:14', 'render:15']);
  });

  it.each([
    ['', /channel/],
    ['channel=', /channel/],
    ['channel=a%0Ab', /channel/],
    ['channel=room&channel=other', /at most once \(repeated: channel\)/],
    ['channel=room&limit=0', /limit must be a whole number from 1 to 1000/],
    ['channel=room&limit=1001', /limit/],
    ['channel=room&limit=ten', /limit/],
    ['channel=room&after=-1', /after must be a seq/],
    ['channel=room&after=1e3', /after must be a seq/],
    ['channel=room&before=0', /before must be at least 1/],
    ['channel=room&after=99999999999999999999', /after must be a seq/],
    ['channel=room&after=1&before=5', /not both/],
    ['channel=room&after=31', /ahead of its current id/],
  ])('refuses ?%s with 400 and a JSON reason', async (query, reason) => {
    const { status, headers, body } = await history(query);
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toMatchObject({ statusCode: 400, error: 'bad-request' });
    expect((body as { message: string }).message).toMatch(reason);
  });

  it('answers 410 when events after the position were trimmed, and keeps serving', async () => {
    await fill('trimmed', 10);
    await db.query("DELETE FROM eventstream.events WHERE channel = 'trimmed' AND seq <= 5");
    const { status, body } = await history('channel=trimmed&after=2');
    expect(status).toBe(410);
    expect((body as { message: string }).message).toMatch(/older than the retained history/);
    const latest = await page('channel=trimmed');
    expect(seqs(latest)).toEqual(range(6, 10));
    expect(latest.hasOlder).toBe(false);
  });

  it('asks the authorizer: 401 without a user, 403 for the wrong one', async () => {
    await app.events.sendEvent('secret-plans', 'm', 1);
    expect((await history('channel=secret-plans')).status).toBe(401);
    expect((await history('channel=secret-plans', { 'x-user': 'bob' })).status).toBe(403);
    const allowed = await page('channel=secret-plans', { 'x-user': 'alice' });
    expect(seqs(allowed)).toEqual([1]);
  });

  it('serves routes of the app with the channel they decide', async () => {
    await app.events.sendEvent('inbox-carol', 'm', 'for carol');
    const response = await fetch(`${app.baseUrl}/me/history?channel=room`, {
      headers: { 'x-user': 'carol' },
    });
    const body = (await response.json()) as HistoryPageBody;
    expect(body.channel).toBe('inbox-carol');
    expect(body.events.map((e) => e.data)).toEqual(['for carol']);
  });

  it('answers CORS requests and preflights for allowed origins', async () => {
    const { headers } = await history('channel=room&limit=1', { Origin: 'https://app.example' });
    expect(headers.get('access-control-allow-origin')).toBe('https://app.example');
    const preflight = await fetch(`${app.baseUrl}/events/history`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, OPTIONS');
  });
});
