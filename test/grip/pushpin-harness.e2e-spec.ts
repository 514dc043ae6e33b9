import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIGURE,
  pushpinInstalled,
  PUSHPIN_INSTALL_HINT,
  startPushpin,
  type RunningPushpin,
} from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';

/**
 * The harness the GRIP suites stand on: a real Pushpin in front of a toy
 * origin that holds a stream, and a publish that reaches the held client.
 */
describe('Pushpin harness', () => {
  let origin: Server;
  let pushpin: RunningPushpin;
  const seenSignatures: (string | undefined)[] = [];

  beforeAll(async () => {
    if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
    origin = createServer((request, response) => {
      seenSignatures.push(request.headers['grip-sig'] as string | undefined);
      response.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Grip-Hold': 'stream',
        'Grip-Channel': 'toy',
      });
      response.end('event: stream-open\ndata:\n\n');
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    pushpin = await startPushpin({
      backendPort: (origin.address() as AddressInfo).port,
      sigKey: 'harness-key-0123456789abcdefghijklmnopqrstuv',
    });
  });
  afterAll(async () => {
    await pushpin?.stop();
    await new Promise((resolve) => origin?.close(resolve));
  });

  it('holds the stream, signs the proxied request, and delivers a publish', async () => {
    const client = new SseRecorder(`${pushpin.url}/anything`, { eventTypes: ['toy'] });
    try {
      await client.until((c) => c.opens === 1);
      expect(seenSignatures[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const published = await fetch(`${pushpin.publishUrl}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          items: [
            {
              channel: 'toy',
              formats: { 'http-stream': { content: 'event: toy\nid: toy:1\ndata: "hi"\n\n' } },
            },
          ],
        }),
      });
      expect(published.status).toBe(200);
      await client.until((c) => c.events('toy').length === 1);
      expect(client.events('toy')).toEqual([{ type: 'toy', id: 'toy:1', data: '"hi"' }]);
    } finally {
      client.close();
    }
  });

  it('refuses, as docker-compose would, a missing, stock, short or URL-unsafe sig key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eventstream-configure-'));
    try {
      const config = join(dir, 'pushpin.conf');
      await writeFile(config, 'sig_key=changeme\n');
      for (const key of ['', 'changeme', 'a&b', 'a b', 'x'.repeat(31)]) {
        const result = spawnSync('sh', [
          CONFIGURE,
          config,
          join(dir, 'routes'),
          'app:3000',
          key,
          '0.0.0.0',
        ]);
        expect(result.status).toBe(2);
        expect(result.stderr.toString()).toContain('sig key');
      }
      expect(await readFile(config, 'utf8')).toBe('sig_key=changeme\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
