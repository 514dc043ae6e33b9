import { EventStoreUnavailableError } from '../../src/eventstream';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { TcpProxy } from '../harness/tcp-proxy';
import { waitFor } from '../harness/wait';

/**
 * Connections to Postgres that hang for good, with neither end closing them
 * (a NAT or firewall that forgot them): the pool's queries time out and it
 * carries on with new connections, and the LISTEN connection, which never
 * runs a query of its own, is found dead and replaced, so live delivery
 * goes on.
 */
describe('connections to Postgres that hang', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: HttpApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    const viaProxy = await TcpProxy.inFrontOf(db.url);
    proxy = viaProxy.proxy;
    app = await startHttpApp({
      options: {
        databaseUrl: viaProxy.url,
        connectTimeoutMs: 1_000,
        queryTimeoutMs: 1_000,
        keepAliveMs: 1_000,
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('times out, recovers the pool and keeps streams live', async () => {
    const client = new SseRecorder(app.streamUrl('channel=hang'), { eventTypes: ['n'] });
    try {
      await client.until((c) => c.opens === 1);
      await app.events.sendEvent('hang', 'n', 1);
      await client.until((c) => c.events('n').length === 1);

      proxy.freezeOpen();
      // Sends on a hung pooled connection fail with the clear error, within
      // the query timeout, and the pool soon serves from new connections.
      const outcomes: unknown[] = [];
      await waitFor(async () => {
        try {
          outcomes.push(await app.events.sendEvent('hang', 'n', outcomes.length + 2));
          return true;
        } catch (error) {
          expect(error).toBeInstanceOf(EventStoreUnavailableError);
          outcomes.push(error);
          return false;
        }
      }, 30_000);
      const sent = outcomes.filter((o) => !(o instanceof Error)).length;
      expect(sent).toBe(1);

      // The stream hears of it: its instance listens on a new connection.
      await client.until((c) => c.events('n').length === 2, 30_000);
      await app.events.sendEvent('hang', 'n', 'after');
      await client.until((c) => c.events('n').length === 3, 10_000);
      expect(client.events('n').map((e) => e.id)).toEqual(['hang:1', 'hang:2', 'hang:3']);
    } finally {
      client.close();
    }
  });
});
