import type { EventStreamModuleOptions, PresenceEventData } from '../../src/eventstream';
import {
  PRESENCE_HEARTBEAT_MS,
  PRESENCE_LEAVE_DELAY_MS,
} from '../../src/eventstream/presence/presence-timing';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader } from '../harness/test-user';
import { waitFor } from '../harness/wait';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Long enough for a departure to be announced, and for any duplicate to show. */
const SETTLED_MS = PRESENCE_LEAVE_DELAY_MS + PRESENCE_HEARTBEAT_MS + 1_000;

const options = (db: TestDatabase): EventStreamModuleOptions => ({
  databaseUrl: db.url,
  resolveUser: userFromHeader,
  presence: { announce: ['lobby', /^room-/] },
});

/**
 * Join and leave events: stored `presence` events on the channels that ask
 * for them, one per arrival and one per departure across instances, with a
 * reconnect inside the leave delay neither.
 */
describe('presence events', () => {
  let db: TestDatabase;
  let a: HttpApp;
  let b: HttpApp;
  const clients: SseRecorder[] = [];

  const open = async (app: HttpApp, channel: string, user?: string) => {
    const client = new SseRecorder(app.streamUrl(`channel=${channel}`), {
      headers: user === undefined ? {} : { 'x-user': user },
      eventTypes: ['presence'],
    });
    clients.push(client);
    await client.until((c) => c.opens === 1);
    return client;
  };
  /** The presence events stored on `channel`, of `user` (all users without one). */
  const announced = async (channel: string, user?: string) => {
    const { events } = await a.events.getEvents(channel, { limit: 1000 });
    return events
      .filter((event) => event.type === 'presence')
      .map((event) => event.data as PresenceEventData)
      .filter((data) => user === undefined || data.user === user);
  };
  const actions = async (channel: string, user: string) =>
    (await announced(channel, user)).map((data) => data.action);

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startHttpApp({ options: options(db) });
    b = await startHttpApp({ platform: 'fastify', options: options(db) });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('announces a first stream and, after the leave delay, a last one, as stored events', async () => {
    const watcher = await open(a, 'lobby', 'watcher');
    const first = await open(a, 'lobby', '7');
    const second = await open(a, 'lobby', '7');
    await watcher.until((c) => c.events('presence').some((e) => e.data.includes('"7"')));
    first.close();
    second.close();
    await waitFor(async () => (await actions('lobby', '7')).length === 2, 2 * SETTLED_MS);
    expect(await actions('lobby', '7')).toEqual(['join', 'leave']);
    // The watcher saw both on its stream, with ids: they are in the log.
    await watcher.until((c) => c.events('presence').length >= 3);
    const seen = watcher.events('presence').filter((e) => e.data.includes('"7"'));
    expect(seen.map((e) => JSON.parse(e.data) as unknown)).toEqual([
      { user: '7', action: 'join' },
      { user: '7', action: 'leave' },
    ]);
    expect(seen.every((e) => /^lobby:\d+$/.test(e.id))).toBe(true);
  });

  it('gives a client that resumes with Last-Event-ID the leave it missed', async () => {
    await open(a, 'room-1', 'stays');
    const leaving = await open(a, 'room-1', 'leaves');
    await waitFor(async () => (await actions('room-1', 'leaves')).length === 1);
    const { headSeq } = await a.events.getEvents('room-1');
    leaving.close();
    await waitFor(async () => (await actions('room-1', 'leaves')).length === 2, 2 * SETTLED_MS);
    const resumed = new SseRecorder(a.streamUrl('channel=room-1'), {
      headers: { 'Last-Event-ID': `room-1:${headSeq}`, 'x-user': 'stays' },
      eventTypes: ['presence'],
    });
    clients.push(resumed);
    await resumed.until((c) => c.events('presence').length >= 1);
    expect(JSON.parse(resumed.events('presence')[0].data)).toEqual({
      user: 'leaves',
      action: 'leave',
    });
  });

  it('announces nothing for a reconnect within the leave delay, to another instance too', async () => {
    const before = await open(a, 'lobby', 'hops');
    await waitFor(async () => (await actions('lobby', 'hops')).length === 1);
    before.close();
    await sleep(PRESENCE_LEAVE_DELAY_MS / 5);
    const after = await open(b, 'lobby', 'hops');
    await sleep(SETTLED_MS);
    expect(await actions('lobby', 'hops')).toEqual(['join']);
    after.close();
    await waitFor(async () => (await actions('lobby', 'hops')).length === 2, 2 * SETTLED_MS);
    expect(await actions('lobby', 'hops')).toEqual(['join', 'leave']);
  });

  it('announces each user once when both instances see them arrive and leave at once', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `twice-${i}`);
    await Promise.all(users.flatMap((user) => [open(a, 'room-2', user), open(b, 'room-2', user)]));
    await waitFor(async () => (await announced('room-2')).length >= users.length);
    // Half of them leave one instance only: still present.
    clients.filter((_, i) => i % 4 === 0).forEach((client) => client.close());
    await sleep(SETTLED_MS);
    clients.splice(0).forEach((client) => client.close());
    await waitFor(
      async () => (await announced('room-2')).length >= 2 * users.length,
      3 * SETTLED_MS,
    );
    await sleep(2 * PRESENCE_HEARTBEAT_MS);
    for (const user of users) expect(await actions('room-2', user)).toEqual(['join', 'leave']);
  });

  it('announces nothing on channels not named, and nothing for unknown users', async () => {
    await open(a, 'quiet', '1');
    await open(a, 'lobby');
    await sleep(2 * PRESENCE_HEARTBEAT_MS);
    expect(await announced('quiet')).toEqual([]);
    expect((await announced('lobby')).filter((data) => data.user === '')).toEqual([]);
    expect(await a.events.getPresence('lobby')).toMatchObject({ streams: 1, users: [] });
  });
});
