import type { EventStreamModuleOptions, PresenceEventData } from '../../src/eventstream';
import { PRESENCE_LEAVE_DELAY_MS } from '../../src/eventstream/presence/presence-timing';
import { freePort } from '../../src/server/free-port';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import {
  PUSHPIN_INSTALL_HINT,
  pushpinInstalled,
  startPushpin,
  type RunningPushpin,
} from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader } from '../harness/test-user';
import { waitFor } from '../harness/wait';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Past the leave delay by the stats' second and the mirror's, with room to
 * spare: a leave that was going to be announced has been by then.
 */
const PAST_LEAVE_MS = PRESENCE_LEAVE_DELAY_MS + 3_000;

/**
 * Join and leave events for streams a real Pushpin holds, read from its
 * stats by two app instances (each with `grip.stats`), with real SSE
 * clients through Pushpin and, for one user, directly to an instance.
 */
describe("presence events from Pushpin's stats", () => {
  let db: TestDatabase;
  let proxy: RunningPushpin;
  let a: HttpApp;
  let b: HttpApp;
  const clients: SseRecorder[] = [];

  const connect = async (url: string, user: string) => {
    const client = new SseRecorder(url, { headers: { 'x-user': user }, eventTypes: ['presence'] });
    clients.push(client);
    await client.until((c) => c.opens === 1);
    return client;
  };
  const query = (channels: string[]) =>
    channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&');
  /** A stream Pushpin holds. */
  const viaProxy = (user: string, ...channels: string[]) =>
    connect(`${proxy.url}/events?${query(channels)}`, user);
  /** A stream instance `b` holds itself (an unsigned request). */
  const direct = (user: string, ...channels: string[]) =>
    connect(b.streamUrl(query(channels)), user);
  const actions = async (channel: string, user: string) => {
    const { events } = await a.events.getEvents(channel, { limit: 1000 });
    return events
      .filter((event) => event.type === 'presence')
      .map((event) => event.data as PresenceEventData)
      .filter((data) => data.user === user)
      .map((data) => data.action);
  };
  const announced = (channel: string, user: string, count: number, timeoutMs = 10_000) =>
    waitFor(async () => (await actions(channel, user)).length >= count, timeoutMs);

  beforeAll(async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    db = await createTestDatabase();
    const port = await freePort();
    proxy = await startPushpin({
      backendPort: port,
      sigKey: 'announce-key-0123456789abcdefghijklmnopqrstuv',
      // As deploy/pushpin/configure.sh sets it: arrivals and departures
      // must not wait for the refresh (every 15 s).
      settings: { stats_subscription_ttl: 20 },
    });
    const options: EventStreamModuleOptions = {
      databaseUrl: db.url,
      resolveUser: userFromHeader,
      presence: { announce: ['lobby', /^room-/] },
      grip: { url: proxy.gripUrl, stats: proxy.statsUrl },
    };
    // Pushpin proxies to `a`; `b` reads the same stats and mirrors them too.
    [a, b] = await Promise.all([
      startHttpApp({ port, options }),
      startHttpApp({ platform: 'fastify', options }),
    ]);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    clients.splice(0).forEach((c) => c.close());
    await a?.close();
    await b?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('announces each first stream and, after the leave delay, each last one, once across both instances', async () => {
    const watcher = await viaProxy('watcher', 'lobby');
    const users = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
    // Streams of one channel and of several, and a user with two.
    const streams = await Promise.all(
      users.map((user, i) =>
        i % 2 === 0 ? viaProxy(user, 'lobby') : viaProxy(user, 'room-1', 'lobby'),
      ),
    );
    streams.push(await viaProxy('p0', 'lobby'));
    const seen = (action: string) => (c: SseRecorder) =>
      users.every((user) =>
        c.events('presence').some((e) => e.data === JSON.stringify({ user, action })),
      );
    await watcher.until(seen('join'));
    const closedAt = Date.now();
    streams.forEach((client) => client.close());
    await watcher.until(seen('leave'), 3 * PAST_LEAVE_MS);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(PRESENCE_LEAVE_DELAY_MS);
    // Room for a second instance's duplicate to show.
    await sleep(2_000);
    for (const user of users) {
      expect(await actions('lobby', user)).toEqual(['join', 'leave']);
      const inRoom = users.indexOf(user) % 2 === 1;
      expect(await actions('room-1', user)).toEqual(inRoom ? ['join', 'leave'] : []);
    }
    // The watcher saw them as stored events, in the log.
    const ids = watcher.events('presence').map((e) => e.id);
    expect(ids.every((id) => /^lobby:\d+$/.test(id))).toBe(true);
  });

  it('announces nothing for a reconnect within the leave delay', async () => {
    const before = await viaProxy('hops', 'room-2');
    await announced('room-2', 'hops', 1);
    const closedAt = Date.now();
    before.close();
    await sleep(PRESENCE_LEAVE_DELAY_MS / 3);
    await viaProxy('hops', 'room-2');
    await sleep(closedAt + PAST_LEAVE_MS - Date.now());
    expect(await actions('room-2', 'hops')).toEqual(['join']);
  });

  it('announces a user with a direct stream and a proxied one once, and their leave after both close', async () => {
    const proxied = await viaProxy('both', 'room-3');
    const own = await direct('both', 'room-3');
    await announced('room-3', 'both', 1);
    // Two streams, one user, on either instance: the shares the mirrors
    // write for the proxied stream (once they have, a second on) add none.
    const two = { channel: 'room-3', streams: 2, users: ['both'] };
    await waitFor(
      async () => JSON.stringify(await a.events.getPresence('room-3')) === JSON.stringify(two),
    );
    await sleep(1_500);
    expect(await a.events.getPresence('room-3')).toEqual(two);
    expect(await b.events.getPresence('room-3')).toEqual(two);
    // The direct stream goes: Pushpin still holds one.
    own.close();
    await sleep(PAST_LEAVE_MS);
    expect(await actions('room-3', 'both')).toEqual(['join']);
    proxied.close();
    await announced('room-3', 'both', 2, 3 * PAST_LEAVE_MS);
    expect(await actions('room-3', 'both')).toEqual(['join', 'leave']);
  });
});
