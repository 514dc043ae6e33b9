import { PushpinStats } from '../../src/eventstream/grip/stats/pushpin-stats';
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
import { waitFor } from '../harness/wait';

/**
 * Stream counts read from the stats sockets of two real Pushpins in front of
 * one app in GRIP mode, with real SSE clients coming and going.
 */
describe("presence from Pushpin's stats", () => {
  let db: TestDatabase;
  let proxies: RunningPushpin[] = [];
  let app: HttpApp;
  let stats: PushpinStats;
  const clients = new Set<SseRecorder>();

  const open = async (proxy: RunningPushpin, ...channels: string[]) => {
    const query = channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&');
    const client = new SseRecorder(`${proxy.url}/events?${query}`);
    clients.add(client);
    await client.until((c) => c.opens >= 1);
    return client;
  };
  const close = (...closing: SseRecorder[]) => {
    for (const client of closing) {
      client.close();
      clients.delete(client);
    }
  };
  /** Waits for the counts to read `expected`, channel by channel. */
  const settles = async (expected: Record<string, number>, timeoutMs = 10_000) => {
    const read = () => Object.fromEntries(Object.keys(expected).map((c) => [c, stats.streams(c)]));
    await waitFor(() => JSON.stringify(read()) === JSON.stringify(expected), timeoutMs).catch(() =>
      expect(read()).toEqual(expected),
    );
  };

  beforeAll(async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    db = await createTestDatabase();
    const port = await freePort();
    proxies = await Promise.all(
      ['first', 'second'].map((name) =>
        startPushpin({ backendPort: port, sigKey: `${name}-key-0123456789abcdefghijklmnopqrstuv` }),
      ),
    );
    app = await startHttpApp({
      port,
      options: { databaseUrl: db.url, grip: { url: proxies.map((p) => p.gripUrl) } },
    });
    stats = new PushpinStats(proxies.map((p) => p.statsUrl));
    stats.start();
  });
  afterEach(() => close(...clients));
  afterAll(async () => {
    close(...clients);
    await stats?.stop();
    await app?.close();
    await Promise.all(proxies.map((p) => p.stop()));
    await db?.drop();
  });

  it('counts streams of one channel and of several, rising and falling, over both proxies', async () => {
    const [first, second] = proxies;
    const alone = [
      await open(first, 'room'),
      await open(first, 'room'),
      await open(second, 'room'),
    ];
    await settles({ room: 3, hall: 0 });
    // Streams of several channels hold each under its other Pushpin name.
    const mixed = [await open(first, 'room', 'hall'), await open(second, 'hall', 'room')];
    await settles({ room: 5, hall: 2 });
    close(alone[0], mixed[1]);
    await settles({ room: 3, hall: 1 });
    close(...alone.slice(1), mixed[0]);
    await settles({ room: 0, hall: 0 });
  });

  it('settles to the truth after hundreds of clients came and went', async () => {
    const open_: SseRecorder[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const opened = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 3 === 0
            ? open(proxies[i % 2], 'churn', 'side')
            : open(proxies[(i + wave) % 2], 'churn'),
        ),
      );
      open_.push(...opened);
      // Close about two of every three, some just opened, some older.
      const leaving = open_.filter((_, i) => (i + wave) % 3 !== 0).slice(0, 14);
      close(...leaving);
      open_.splice(0, open_.length, ...open_.filter((c) => !leaving.includes(c)));
    }
    const truth = (channel: string) =>
      [...clients].filter((c) => c.source.url.includes(`channel=${channel}`)).length;
    expect(clients.size).toBe(open_.length);
    expect(open_.length).toBeGreaterThan(50);
    await settles({ churn: truth('churn'), side: truth('side') });
    close(...clients);
    await settles({ churn: 0, side: 0 });
  });

  it("stops counting a killed Pushpin's streams within a second or two, and counts it again once up", async () => {
    const [first, second] = proxies;
    await open(first, 'crash');
    await open(second, 'crash');
    await open(second, 'crash');
    await settles({ crash: 3 });
    await second.kill();
    // Its TTL here is 20 s: only the closed stats connection can tell this soon.
    await settles({ crash: 1 }, 3_000);
    // Its clients reconnect to it by themselves once it is back.
    await second.up();
    await settles({ crash: 3 }, 20_000);
  });
});
