import { Test } from '@nestjs/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamHealth, EventStreamModule } from '../../src/eventstream';
import { EVENT_STORE, type EventStore } from '../../src/eventstream/storage';
import { freePort } from '../../src/server/free-port';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { TcpProxy } from '../harness/tcp-proxy';

describe('EventStreamHealth', () => {
  let db: TestDatabase;
  const apps: HttpApp[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reports the database up, with no proxies, in direct mode', async () => {
    const app = await startHttpApp({ options: { databaseUrl: db.url } });
    apps.push(app);
    expect(await app.app.get(EventStreamHealth).check()).toEqual({
      status: 'up',
      database: { status: 'up' },
      proxies: {},
    });
  });

  it('reports the database down while it cannot be reached, and up again after', async () => {
    const { proxy: cut, url } = await TcpProxy.inFrontOf(db.url);
    const app = await startHttpApp({
      options: { databaseUrl: url, connectTimeoutMs: 1_000 },
    });
    apps.push(app);
    const health = app.app.get(EventStreamHealth);
    try {
      expect((await health.check()).status).toBe('up');
      await cut.refuse();
      cut.dropConnections();
      const down = await health.check();
      expect(down.status).toBe('down');
      expect(down.database).toEqual({ status: 'down', error: expect.any(String) as unknown });
      await cut.forward();
      expect((await health.check()).database).toEqual({ status: 'up' });
    } finally {
      await cut.stop();
    }
  });

  it('asks the store registered under EVENT_STORE, not the database behind the default one', async () => {
    const unreachable = (): Promise<never> => Promise.reject(new Error('store offline'));
    const store: EventStore = {
      append: unreachable,
      appendOnce: unreachable,
      read: unreachable,
      readLatest: unreachable,
      headSeqs: unreachable,
      trim: unreachable,
      ping: unreachable,
    };
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventStreamModule.forRoot({ databaseUrl: db.url, migrate: true, retention: false }),
      ],
    })
      .overrideProvider(EVENT_STORE)
      .useValue(store)
      .compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    try {
      expect(await app.get(EventStreamHealth).check()).toEqual({
        status: 'down',
        database: { status: 'down', error: 'store offline' },
        proxies: {},
      });
    } finally {
      await app.close();
    }
  });

  it('checks each GRIP proxy’s publish API', async () => {
    const live: Server = createServer((_, response) => response.end('ok'));
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
    const livePort = (live.address() as AddressInfo).port;
    const deadPort = await freePort();
    try {
      const app = await startHttpApp({
        options: {
          databaseUrl: db.url,
          grip: {
            url: [
              `http://127.0.0.1:${livePort}/?iss=pushpin&key=health-key-0123456789abcdefghijklmnopqrstuv`,
              `http://127.0.0.1:${deadPort}/?iss=pushpin&key=health-key-0123456789abcdefghijklmnopqrstuv`,
            ],
            publishTimeoutMs: 1_000,
          },
        },
      });
      apps.push(app);
      const report = await app.app.get(EventStreamHealth).check();
      expect(report.status).toBe('down');
      expect(report.database).toEqual({ status: 'up' });
      expect(report.proxies).toEqual({
        [`http://127.0.0.1:${livePort}`]: { status: 'up' },
        [`http://127.0.0.1:${deadPort}`]: { status: 'down', error: expect.any(String) as unknown },
      });
    } finally {
      await new Promise((resolve) => live.close(resolve));
    }
  });
});
