import { Client } from 'pg';
import { Registry } from 'prom-client';
import { EventStreamMetrics } from '../../src/eventstream';
import { freePort } from '../../src/server/free-port';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';

/** The value of one sample in Prometheus' text format, e.g. `name{label="x"}`. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((text) => text.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Prometheus metrics', () => {
  let db: TestDatabase;
  const apps: HttpApp[] = [];
  const clients: SseRecorder[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('counts writes, store failures, open streams and replay sizes in direct mode', async () => {
    const registry = new Registry();
    const app = await startHttpApp({
      options: { databaseUrl: db.url, metrics: { registry, prefix: 'es_' } },
    });
    apps.push(app);
    expect(app.app.get(EventStreamMetrics).registry).toBe(registry);
    await app.events.sendEvents([1, 2, 3].map((n) => ({ channel: 'm', type: 'n', data: n })));
    await app.events.sendEvent('m', 'n', 4);
    expect(await sample(registry, 'es_events_appended_total')).toBe(4);
    expect(await sample(registry, 'es_append_duration_seconds_count')).toBe(2);

    const client = new SseRecorder(app.streamUrl('channel=m&lastEventId=m:1'), {
      eventTypes: ['n'],
    });
    clients.push(client);
    await client.until((c) => c.events('n').length === 3);
    expect(await sample(registry, 'es_open_streams')).toBe(1);
    expect(await sample(registry, 'es_replay_events_count{mode="direct"}')).toBe(1);
    expect(await sample(registry, 'es_replay_events_sum{mode="direct"}')).toBe(3);
    client.close();
    await waitFor(async () => (await sample(registry, 'es_open_streams')) === 0);

    const aborted = new Client({ connectionString: db.url });
    await aborted.connect();
    try {
      await aborted.query('BEGIN');
      await aborted.query('SELECT 1/0').catch(() => undefined);
      await expect(app.events.sendEvent('m', 'n', 5, { transaction: aborted })).rejects.toThrow();
    } finally {
      await aborted.end();
    }
    expect(await sample(registry, 'es_store_errors_total{operation="append",kind="failed"}')).toBe(
      1,
    );
  });

  it('times publishes to a GRIP proxy, and counts retries and items given up', async () => {
    const registry = new Registry();
    // Nothing listens here: every publish fails.
    const port = await freePort();
    const app = await startHttpApp({
      options: {
        databaseUrl: db.url,
        grip: {
          url: `http://127.0.0.1:${port}/?iss=pushpin&key=metrics-key-0123456789abcdefghijklmnopqrstuv`,
        },
        metrics: { registry },
      },
    });
    apps.push(app);
    await app.events.sendEvent('g', 'n', 1);
    const proxy = `proxy="http://127.0.0.1:${port}"`;
    await waitFor(
      async () => (await sample(registry, `eventstream_publish_failures_total{${proxy}}`)) === 1,
    );
    expect(await sample(registry, `eventstream_publish_retries_total{${proxy}}`)).toBe(3);
    expect(await sample(registry, `eventstream_publish_duration_seconds_count{${proxy}}`)).toBe(
      undefined,
    );
  });

  it('registers nothing without the option', async () => {
    const app = await startHttpApp({ options: { databaseUrl: db.url } });
    apps.push(app);
    const metrics = app.app.get(EventStreamMetrics);
    expect(metrics.enabled).toBe(false);
    expect(metrics.registry).toBeUndefined();
    await app.events.sendEvent('quiet', 'n', 1);
  });
});
