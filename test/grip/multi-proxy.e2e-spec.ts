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

/** Two Pushpins in front of one app (the only suite that needs two): each gets every event. */
describe('GRIP mode with several proxies', () => {
  let db: TestDatabase;
  let proxies: RunningPushpin[] = [];
  let app: HttpApp;

  beforeAll(async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    db = await createTestDatabase();
    const port = await freePort();
    proxies = [
      await startPushpin({
        backendPort: port,
        sigKey: 'first-key-0123456789abcdefghijklmnopqrstuv',
      }),
      await startPushpin({
        backendPort: port,
        sigKey: 'second-key-0123456789abcdefghijklmnopqrstuv',
      }),
    ];
    app = await startHttpApp({
      port,
      options: { databaseUrl: db.url, grip: { url: proxies.map((p) => p.gripUrl) } },
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all(proxies.map((p) => p.stop()));
    await db?.drop();
  });

  it('publishes every event to each proxy, and trusts the signature of each', async () => {
    const clients = proxies.map(
      (proxy) => new SseRecorder(`${proxy.url}/events?channel=fanout`, { eventTypes: ['n'] }),
    );
    try {
      await Promise.all(clients.map((c) => c.until((r) => r.opens === 1)));
      expect(app.hub.size).toBe(0);
      for (let i = 1; i <= 3; i++) await app.events.sendEvent('fanout', 'n', i);
      for (const client of clients) {
        await client.until((c) => c.events('n').length === 3);
        expect(client.events('n').map((e) => e.id)).toEqual(['fanout:1', 'fanout:2', 'fanout:3']);
      }
    } finally {
      clients.forEach((c) => c.close());
    }
  });
});
