import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from '../harness/server-process';
import { SseRecorder } from '../harness/sse-client';

/** `npm start` on a fresh machine: no DATABASE_URL, an embedded PostgreSQL. */
describe('the bundled server on its embedded PostgreSQL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'eventstream-server-'));
    // Run as root, PostgreSQL runs as its own user, who must enter this folder.
    await chmod(dataDir, 0o755);
  });
  // PostgreSQL may still be writing its statistics as it exits after the server.
  afterAll(() => rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 }));

  it('starts, serves, and keeps its events across a restart', async () => {
    const env = { EVENTSTREAM_DATA_DIR: dataDir, EVENTSTREAM_PUBLISH_KEY: 'k' };
    const first = await startServerProcess(env);
    try {
      expect(first.output()).toMatch(/in direct mode \(database: embedded\)/);
      const response = await fetch(`${first.baseUrl}/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k' },
        body: JSON.stringify({ channel: 'kept', type: 'note', data: 'survives' }),
      });
      expect(await response.json()).toEqual({ ids: ['kept:1'] });
    } finally {
      await first.stop();
    }

    const second = await startServerProcess(env);
    const client = new SseRecorder(`${second.baseUrl}/events?channel=kept&lastEventId=kept:0`, {
      eventTypes: ['note'],
    });
    try {
      await client.until((c) => c.events('note').length === 1, 15_000);
      expect(client.events('note')).toEqual([{ type: 'note', id: 'kept:1', data: '"survives"' }]);
    } finally {
      client.close();
      await second.stop();
    }
  });
});
