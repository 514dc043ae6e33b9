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

type Presence = { streams: number; users: readonly string[] };
const NOBODY: Presence = { streams: 0, users: [] };

/**
 * Presence read from the stats sockets of two real Pushpins in front of one
 * app in GRIP mode, with real SSE clients of known and anonymous users
 * coming and going.
 */
describe("presence from Pushpin's stats", () => {
  let db: TestDatabase;
  let proxies: RunningPushpin[] = [];
  let app: HttpApp;
  /** The open clients, with their users (undefined: anonymous) and channels. */
  const clients = new Map<SseRecorder, { user?: string; channels: string[] }>();

  const open = async (proxy: RunningPushpin, user: string | undefined, ...channels: string[]) => {
    const query = channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&');
    const headers: Record<string, string> = user ? { 'x-user': user } : {};
    const client = new SseRecorder(`${proxy.url}/events?${query}`, { headers });
    clients.set(client, { user, channels });
    await client.until((c) => c.opens >= 1);
    return client;
  };
  const close = (...closing: SseRecorder[]) => {
    for (const client of closing) {
      client.close();
      clients.delete(client);
    }
  };
  /** Presence on `channel` as the open clients make it. */
  const truth = (channel: string): Presence => {
    const on = [...clients.values()].filter((c) => c.channels.includes(channel));
    const users = on.map((c) => c.user).filter((u): u is string => u !== undefined);
    return { streams: on.length, users: [...new Set(users)].sort() };
  };
  /** Presence as the app answers it, channel by channel. */
  const read = async (channels: string[]) =>
    Object.fromEntries(
      await Promise.all(
        channels.map(async (c) => {
          const { streams, users } = await app.events.getPresence(c);
          return [c, { streams, users }] as const;
        }),
      ),
    );
  /** Waits for presence to read `expected`, channel by channel. */
  const settles = async (expected: Record<string, Presence>, timeoutMs = 10_000) => {
    const channels = Object.keys(expected);
    let last: Record<string, Presence> = {};
    await waitFor(async () => {
      last = await read(channels);
      return JSON.stringify(last) === JSON.stringify(expected);
    }, timeoutMs).catch(() => expect(last).toEqual(expected));
  };

  beforeAll(async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    db = await createTestDatabase();
    const port = await freePort();
    // The first trusts its counts 3 s, the second 20 s, as configure.sh sets it.
    proxies = await Promise.all(
      [{ stats_subscription_ttl: 3 }, { stats_subscription_ttl: 20 }].map((settings, i) =>
        startPushpin({
          backendPort: port,
          sigKey: `proxy-${i}-key-0123456789abcdefghijklmnopqrstuv`,
          settings,
        }),
      ),
    );
    app = await startHttpApp({
      port,
      options: {
        databaseUrl: db.url,
        resolveUser: userFromHeader,
        grip: { url: proxies.map((p) => p.gripUrl), stats: proxies.map((p) => p.statsUrl) },
      },
    });
  });
  afterEach(() => close(...clients.keys()));
  afterAll(async () => {
    close(...clients.keys());
    await app?.close();
    await Promise.all(proxies.map((p) => p.stop()));
    await db?.drop();
  });

  it('counts streams of one channel and of several, and their users, as they come and go, over both proxies', async () => {
    const [first, second] = proxies;
    const alone = [
      await open(first, 'ann', 'room'),
      await open(first, 'ann', 'room'),
      await open(second, undefined, 'room'),
    ];
    await settles({ room: { streams: 3, users: ['ann'] }, hall: NOBODY });
    // Streams of several channels hold each under its other Pushpin name.
    const mixed = [
      await open(first, 'bob', 'room', 'hall'),
      await open(second, 'cyd', 'hall', 'room'),
    ];
    await settles({
      room: { streams: 5, users: ['ann', 'bob', 'cyd'] },
      hall: { streams: 2, users: ['bob', 'cyd'] },
    });
    close(alone[0], mixed[1]);
    await settles({
      room: { streams: 3, users: ['ann', 'bob'] },
      hall: { streams: 1, users: ['bob'] },
    });
    close(...alone.slice(1), mixed[0]);
    await settles({ room: NOBODY, hall: NOBODY });
  });

  it('adds the streams the app holds itself (unsigned requests) and answers GET /events/presence', async () => {
    await open(proxies[0], 'ann', 'both');
    const direct = new SseRecorder(app.streamUrl('channel=both'), { headers: { 'x-user': 'dan' } });
    clients.set(direct, { user: 'dan', channels: ['both'] });
    await direct.until((c) => c.opens >= 1);
    await settles({ both: { streams: 2, users: ['ann', 'dan'] } });
    const reply = await fetch(`${app.baseUrl}/events/presence?channel=both`);
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ channel: 'both', streams: 2, users: ['ann', 'dan'] });
  });

  it('settles to the truth after hundreds of clients came and went', async () => {
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'];
    let still: SseRecorder[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const opened = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const user = i % 4 === 0 ? undefined : users[(i * 3 + wave) % users.length];
          return i % 3 === 0
            ? open(proxies[i % 2], user, 'churn', 'side')
            : open(proxies[(i + wave) % 2], user, 'churn');
        }),
      );
      still.push(...opened);
      // Close most of them, some just opened, some older.
      const leaving = still.filter((_, i) => (i + wave) % 3 !== 0).slice(0, 14);
      close(...leaving);
      still = still.filter((c) => !leaving.includes(c));
    }
    expect(clients.size).toBe(still.length);
    expect(still.length).toBeGreaterThan(50);
    await settles({ churn: truth('churn'), side: truth('side') });
    close(...clients.keys());
    await settles({ churn: NOBODY, side: NOBODY });
  });

  it('stops counting a Pushpin that hangs with its connection open once its TTL lapses', async () => {
    const [first, second] = proxies;
    await open(first, 'ann', 'hang');
    await open(second, 'bob', 'hang');
    await settles({ hang: { streams: 2, users: ['ann', 'bob'] } });
    first.freeze();
    try {
      // Nothing tells the app it went away but the TTL of its last counts, 3 s.
      await settles({ hang: { streams: 1, users: ['bob'] } }, 3_500);
    } finally {
      first.thaw();
    }
    // Awake, it refreshes its counts within three quarters of its TTL.
    await settles({ hang: { streams: 2, users: ['ann', 'bob'] } }, 5_000);
  });

  it("stops counting a killed Pushpin's streams within a second or two, and counts it again once up", async () => {
    const [first, second] = proxies;
    await open(first, 'ann', 'crash');
    await open(second, 'bob', 'crash');
    await open(second, 'bob', 'crash');
    await settles({ crash: { streams: 3, users: ['ann', 'bob'] } });
    await second.kill();
    // Its TTL here is 20 s: only the closed stats connection can tell this soon.
    await settles({ crash: { streams: 1, users: ['ann'] } }, 3_000);
    // Its clients reconnect to it by themselves once it is back.
    await second.up();
    await settles({ crash: { streams: 3, users: ['ann', 'bob'] } }, 20_000);
  });
});
