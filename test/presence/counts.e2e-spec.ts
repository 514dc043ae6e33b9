import type { ChannelPresence } from '../../src/eventstream';
import { PLATFORMS, startHttpApp, type HttpApp, type Platform } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader, type TestUser as User } from '../harness/test-user';
import { waitFor } from '../harness/wait';

const options = (db: TestDatabase) => ({
  databaseUrl: db.url,
  resolveUser: userFromHeader,
  authorizer: {
    canReadChannel: (user: User | undefined, channel: string) =>
      !channel.startsWith('secret') || user?.id === 'alice',
  },
});

async function presenceOf(app: HttpApp, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.baseUrl}/events/presence?${query}`, { headers });
  return { status: response.status, body: await response.json() };
}

/** Opens a stream as `user` (none: an unknown user) and waits until it is open. */
async function connect(app: HttpApp, channels: string, user?: string): Promise<SseRecorder> {
  const client = new SseRecorder(app.streamUrl(channels), {
    headers: user === undefined ? {} : { 'x-user': user },
  });
  await client.until((c) => c.opens === 1);
  return client;
}

describe.each(PLATFORMS)('GET /events/presence on %s', (platform: Platform) => {
  let db: TestDatabase;
  let app: HttpApp;
  const clients: SseRecorder[] = [];
  const open = async (channels: string, user?: string) => {
    const client = await connect(app, channels, user);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startHttpApp({ platform, options: options(db) });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('counts streams as they open and close, and their distinct users, sorted', async () => {
    expect(await presenceOf(app, 'channel=room')).toEqual({
      status: 200,
      body: { channel: 'room', streams: 0, users: [] },
    });
    const first = await open('channel=room', '9');
    await open('channel=room', '9');
    await open('channel=room&channel=other', '7');
    await open('channel=room'); // a user the app does not know: counted, not listed
    expect(await presenceOf(app, 'channel=room')).toEqual({
      status: 200,
      body: { channel: 'room', streams: 4, users: ['7', '9'] },
    });
    expect((await presenceOf(app, 'channel=other')).body).toEqual({
      channel: 'other',
      streams: 1,
      users: ['7'],
    });
    first.close();
    await waitFor(async () => (await app.events.getPresence('room')).streams === 3);
    expect((await app.events.getPresence('room')).users).toEqual(['7', '9']);
    clients.splice(0).forEach((c) => c.close());
    await waitFor(async () => (await app.events.getPresence('room')).streams === 0);
    expect(await app.events.getPresence('room')).toEqual({
      channel: 'room',
      streams: 0,
      users: [],
    });
  });

  it.each([
    ['', /give one channel/],
    ['channel=', /cannot be empty/],
    ['channel=a%20b', /may contain only/],
    ['channel=room&channel=other', /at most once \(repeated: channel\)/],
    ['channel=room&user=7', /unknown parameter: user/],
  ])('refuses ?%s with 400 naming the problem', async (query, reason) => {
    const { status, body } = await presenceOf(app, query);
    expect(status).toBe(400);
    expect(body).toMatchObject({ statusCode: 400, error: 'bad-request' });
    expect((body as { message: string }).message).toMatch(reason);
  });

  it('asks the authorizer like history: 401 without a user, 403 for the wrong one', async () => {
    await open('channel=secret-plans', 'alice');
    expect((await presenceOf(app, 'channel=secret-plans')).status).toBe(401);
    expect((await presenceOf(app, 'channel=secret-plans', { 'x-user': 'bob' })).status).toBe(403);
    const history = await fetch(`${app.baseUrl}/events/history?channel=secret-plans`, {
      headers: { 'x-user': 'bob' },
    });
    const refused = await presenceOf(app, 'channel=secret-plans', { 'x-user': 'bob' });
    expect(refused.body).toEqual(await history.json());
    expect(await presenceOf(app, 'channel=secret-plans', { 'x-user': 'alice' })).toEqual({
      status: 200,
      body: { channel: 'secret-plans', streams: 1, users: ['alice'] },
    });
  });
});

describe('presence across instances (direct mode)', () => {
  let db: TestDatabase;
  let apps: HttpApp[];
  const clients: SseRecorder[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    apps = [];
    for (const platform of PLATFORMS)
      apps.push(await startHttpApp({ platform, options: options(db) }));
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await Promise.all((apps ?? []).map((app) => app.close()));
    await db?.drop();
  });

  const presence = (app: HttpApp, channel: string) => app.events.getPresence(channel);
  const everywhere = async (channel: string) => Promise.all(apps.map((a) => presence(a, channel)));

  it("counts every instance's streams on every instance", async () => {
    const [a, b] = apps;
    clients.push(await connect(a, 'channel=hall', '1'));
    clients.push(await connect(a, 'channel=hall', '2'));
    clients.push(await connect(b, 'channel=hall', '2'));
    clients.push(await connect(b, 'channel=hall'));
    const expected: ChannelPresence = { channel: 'hall', streams: 4, users: ['1', '2'] };
    await waitFor(async () =>
      (await everywhere('hall')).every((p) => JSON.stringify(p) === JSON.stringify(expected)),
    );
    clients.splice(0, 3).forEach((c) => c.close());
    await waitFor(async () => (await everywhere('hall')).every((p) => p.streams === 1));
    expect(await everywhere('hall')).toEqual([
      { channel: 'hall', streams: 1, users: [] },
      { channel: 'hall', streams: 1, users: [] },
    ]);
  });

  it('settles to the truth under churn: hundreds of clients connecting and leaving at once', async () => {
    const churn: SseRecorder[] = [];
    const stayed: SseRecorder[] = [];
    // 300 clients over both instances, 30 users; two thirds leave again at
    // once, some of them while others are still connecting.
    const opening = Array.from({ length: 300 }, async (_, i) => {
      const client = await connect(apps[i % 2], 'channel=churn', String(i % 30));
      (i % 3 === 0 ? stayed : churn).push(client);
      if (i % 3 !== 0 && i % 5 === 0) client.close();
    });
    await Promise.all(opening);
    churn.forEach((c) => c.close());
    clients.push(...stayed);
    expect(stayed).toHaveLength(100);
    // The users left are those of i % 3 === 0: i % 30 in 0, 3, …, 27.
    const expectedUsers = Array.from({ length: 10 }, (_, k) => String(k * 3)).sort();
    await waitFor(async () =>
      (await everywhere('churn')).every(
        (p) => p.streams === 100 && JSON.stringify(p.users) === JSON.stringify(expectedUsers),
      ),
    );
  });
});
