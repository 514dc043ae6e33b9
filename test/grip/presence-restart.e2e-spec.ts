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

/** Pushpin's `stats_subscription_ttl`: it re-sends every held channel each 9 s. */
const TTL_S = 12;

/**
 * The one app instance behind a real Pushpin restarts while Pushpin holds
 * a user's stream: the new instance hears of the stream only at Pushpin's
 * next refresh of its stats, so the stopped one's share must keep the user
 * present until then.
 */
describe("presence events from Pushpin's stats, across a restart of the app", () => {
  let db: TestDatabase;
  let proxy: RunningPushpin;
  let port: number;
  let app: HttpApp | undefined;
  let client: SseRecorder | undefined;
  let options: EventStreamModuleOptions;

  const actions = async (channel: string, user: string) => {
    const { events } = await app!.events.getEvents(channel, { limit: 1000 });
    return events
      .filter((event) => event.type === 'presence')
      .map((event) => event.data as PresenceEventData)
      .filter((data) => data.user === user)
      .map((data) => data.action);
  };

  beforeAll(async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    db = await createTestDatabase();
    port = await freePort();
    proxy = await startPushpin({
      backendPort: port,
      sigKey: 'restart-key-0123456789abcdefghijklmnopqrstuv',
      settings: { stats_subscription_ttl: TTL_S },
    });
    options = {
      databaseUrl: db.url,
      resolveUser: userFromHeader,
      presence: { announce: ['lobby'] },
      grip: { url: proxy.gripUrl, stats: proxy.statsUrl },
    };
    app = await startHttpApp({ port, options });
  });
  afterAll(async () => {
    client?.close();
    await app?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('announces no leave and no join for a user Pushpin holds throughout', async () => {
    const openedAt = Date.now();
    client = new SseRecorder(`${proxy.url}/events?channel=lobby`, {
      headers: { 'x-user': 'stays' },
    });
    await client.until((c) => c.opens === 1);
    await waitFor(async () => (await actions('lobby', 'stays')).length === 1);
    await app!.close();
    app = await startHttpApp({ port, options });
    // The new instance hears of the stream at Pushpin's refresh, 9 s after
    // it opened; the old one's lease (without the share held) lapsed 5 s after it stopped.
    await waitFor(async () => (await app!.events.getPresence('lobby')).streams === 1, 15_000);
    expect(Date.now() - openedAt).toBeGreaterThan(PRESENCE_LEAVE_DELAY_MS);
    // Past the old instance's share, with a sweep (every 5 s) to spare.
    await sleep(Math.max(0, openedAt + (TTL_S + 5) * 1000 + 6_000 - Date.now()));
    expect(await actions('lobby', 'stays')).toEqual(['join']);
    client.close();
    await waitFor(async () => (await actions('lobby', 'stays')).length === 2, 15_000);
    expect(await actions('lobby', 'stays')).toEqual(['join', 'leave']);
  });
});
