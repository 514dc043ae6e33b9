import { freePort } from '../../src/server/free-port';
import { startGripServer, type BehindPushpin } from '../harness/grip-app';
import type { TestDatabase } from '../harness/postgres';
import type { RunningPushpin } from '../harness/pushpin';
import { startServerProcess, type ServerProcess } from '../harness/server-process';
import { SseRecorder } from '../harness/sse-client';

/** The bundled server with GRIP_URL, behind a real Pushpin, as docker-compose runs it. */
describe('the bundled server behind Pushpin', () => {
  let db: TestDatabase;
  let pushpin: RunningPushpin;
  let server: ServerProcess;
  let stack: BehindPushpin<ServerProcess>;

  beforeAll(async () => {
    stack = await startGripServer({
      pushpin: { sigKey: 'server-sig-key-0123456789abcdefghijklmnopqrstuv' },
      env: { EVENTSTREAM_PUBLISH_KEY: 'k' },
    });
    ({ db, pushpin, app: server } = stack);
  });
  afterAll(() => stack?.stop());

  it('says it runs in GRIP mode, that the proxy answers, and never prints the key', () => {
    expect(server.output()).toMatch(/in GRIP mode \(proxy publish API http:\/\/127\.0\.0\.1:\d+\)/);
    expect(server.output()).toMatch(/GRIP proxy publish API at http:\/\/127\.0\.0\.1:\d+ answers/);
    expect(server.output()).not.toContain('server-sig-key-0123456789abcdefghijklmnopqrstuv');
  });

  it('reports the proxy up at /health', async () => {
    const health = await fetch(`${server.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'up',
      proxies: { [new URL(pushpin.publishUrl).origin]: { status: 'up' } },
    });
  });

  it('starts all the same when the proxy does not answer, says so, and /health says 503', async () => {
    const deadPort = await freePort();
    const lonely = await startServerProcess({
      DATABASE_URL: db.url,
      GRIP_URL: `http://127.0.0.1:${deadPort}/?iss=pushpin&key=lonely-key-0123456789abcdefghijklmnop`,
    });
    try {
      expect(lonely.output()).toMatch(
        new RegExp(`GRIP proxy publish API at http://127.0.0.1:${deadPort} does not answer`),
      );
      const health = await fetch(`${lonely.baseUrl}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'down',
        database: { status: 'up' },
        proxies: { [`http://127.0.0.1:${deadPort}`]: { status: 'down' } },
      });
    } finally {
      await lonely.stop();
    }
  });

  it('streams through Pushpin what is published to the server', async () => {
    const client = new SseRecorder(`${pushpin.url}/events?channel=wire`, { eventTypes: ['item'] });
    try {
      await client.until((c) => c.opens === 1);
      const response = await fetch(`${server.baseUrl}/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k' },
        body: JSON.stringify({ channel: 'wire', type: 'item', data: { n: 1 } }),
      });
      expect(response.status).toBe(201);
      await client.until((c) => c.events('item').length === 1);
      expect(client.events('item')).toEqual([{ type: 'item', id: 'wire:1', data: '{"n":1}' }]);
    } finally {
      client.close();
    }
  });
});
