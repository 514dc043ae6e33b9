import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';

/** The demo's HTTP side, on the bundled server as `npm start` runs it. */
describe('the bundled server: the demo', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const post = (body: unknown) =>
    fetch(`${server.baseUrl}/demo/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('serves the page at /, the status at /health, and says so at start-up', async () => {
    const page = await fetch(`${server.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain("import { createEventStream } from '/events/client/index.js'");
    const health = await fetch(`${server.baseUrl}/health`);
    expect(await health.json()).toEqual({
      service: 'nestjs-eventstream',
      status: 'up',
      database: { status: 'up' },
      proxies: {},
    });
    expect(server.output()).toMatch(/Demo: http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('stores a valid message through sendEvent and answers with its id', async () => {
    const response = await post({ channel: 'demo-api', user: 'ann', text: 'hello' });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: 'demo-api:1' });
    const [row] = await db.query<{ type: string; data: Record<string, string> }>(
      `SELECT type, data FROM eventstream.events WHERE channel = 'demo-api'`,
    );
    expect(row.type).toBe('message');
    expect(Object.keys(row.data).sort()).toEqual(['messageId', 'sentAt', 'text', 'user']);
    expect(row.data).toMatchObject({ user: 'ann', text: 'hello' });
    expect(Number.isNaN(Date.parse(row.data.sentAt))).toBe(false);
  });

  it('saves its own row and the event in one transaction, the event naming the row', async () => {
    const response = await post({ channel: 'demo-tx', user: 'cy', text: 'both or neither' });
    const { id } = (await response.json()) as { id: string };
    const [event] = await db.query<{ data: { messageId: number } }>(
      `SELECT data FROM eventstream.events WHERE channel = 'demo-tx'`,
    );
    const rows = await db.query<{ id: string; user_name: string; text: string }>(
      `SELECT id, user_name, text FROM demo_messages WHERE channel = 'demo-tx'`,
    );
    expect(id).toBe('demo-tx:1');
    expect(rows).toEqual([
      { id: String(event.data.messageId), user_name: 'cy', text: 'both or neither' },
    ]);
  });

  it('has the page render the last 20 messages from the history, then stream from there', async () => {
    for (let i = 0; i < 25; i++) await post({ channel: 'demo-history', user: 'b', text: `${i}` });
    const html = await (await fetch(`${server.baseUrl}/`)).text();
    expect(html).toContain("fetch('/events/history?limit=20&channel='");
    const page = (await (
      await fetch(`${server.baseUrl}/events/history?limit=20&channel=demo-history`)
    ).json()) as { events: { data: { text: string } }[]; lastEventId: string };
    expect(page.events.map((e) => e.data.text)).toEqual(
      Array.from({ length: 20 }, (_, i) => `${i + 5}`),
    );
    expect(page.lastEventId).toBe('demo-history:25');
  });

  it.each([
    ['another channel', { channel: 'news', user: 'a', text: 'b' }, /channel must be "demo"/],
    ['an empty text', { channel: 'demo', user: 'a', text: '' }, /text must be longer/],
    ['a text over 500', { channel: 'demo', user: 'a', text: 'x'.repeat(501) }, /text must be/],
    ['a name over 40', { channel: 'demo', user: 'u'.repeat(41), text: 'b' }, /user must be/],
    ['a number', { channel: 'demo', user: 'a', text: 5 }, /text must be a string/],
    ['an extra field', { channel: 'demo', user: 'a', text: 'b', x: 1 }, /property x should not/],
    ['no body', {}, /channel must be/],
  ])('refuses %s with 400 and a JSON body', async (_what, body, message) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    const json = (await response.json()) as { statusCode: number; message: string[] };
    expect(json.statusCode).toBe(400);
    expect(json.message.join('\n')).toMatch(message);
  });

  it('refuses malformed JSON with 400, stored none of the refused, and keeps serving', async () => {
    expect((await post('{"channel": ')).status).toBe(400);
    // Far past any valid message: refused before it is read.
    const long = await post({ channel: 'demo', user: 'a', text: 'x'.repeat(20_000) });
    expect(long.status).toBe(413);
    // The refusals above that named a valid channel wrote to `demo`.
    const [{ n }] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM eventstream.events WHERE channel = 'demo'`,
    );
    expect(n).toBe(0);
    expect((await post({ channel: 'demo', user: 'a', text: 'still here' })).status).toBe(201);
  });
});

describe('the bundled server with EVENTSTREAM_DEMO=off', () => {
  it('has no demo page and no demo endpoints', async () => {
    const db = await createTestDatabase();
    const server = await startServerProcess({ DATABASE_URL: db.url, EVENTSTREAM_DEMO: 'off' });
    try {
      expect(server.output()).toContain('Demo off');
      expect((await fetch(`${server.baseUrl}/`)).status).toBe(404);
      const post = await fetch(`${server.baseUrl}/demo/messages`, { method: 'POST' });
      expect(post.status).toBe(404);
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
      await db.drop();
    }
  });
});
