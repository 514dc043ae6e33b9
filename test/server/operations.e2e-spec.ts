import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';

/** The bundled server's operations settings: Prometheus metrics and JSON logs. */
describe('the bundled server: metrics and JSON logs', () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      EVENTSTREAM_PUBLISH_KEY: 'ops-key',
      EVENTSTREAM_METRICS: 'on',
      EVENTSTREAM_LOG_FORMAT: 'json',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('serves the module’s and Node’s metrics at /metrics', async () => {
    const published = await fetch(`${server.baseUrl}/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ops-key' },
      body: JSON.stringify({ channel: 'ops', type: 'n', data: 1 }),
    });
    expect(published.status).toBe(201);
    const response = await fetch(`${server.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^eventstream_events_appended_total 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('writes every log line as one JSON object, start-up lines included', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '');
    const entries = lines.map((line) => JSON.parse(line) as { level: string; message: string });
    expect(
      entries.some((entry) =>
        /^Listening on http:\/\/127\.0\.0\.1:\d+ in direct mode/.test(entry.message),
      ),
    ).toBe(true);
    expect(entries.every((entry) => typeof entry.level === 'string')).toBe(true);
  });
});
