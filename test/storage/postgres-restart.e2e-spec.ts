import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreUnavailableError } from '../../src/eventstream';
import { freePort } from '../../src/server/free-port';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { startPostgresProcess, type PostgresProcess } from '../harness/postgres-process';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';

/**
 * A real Postgres stopped and started again while publishers write and
 * clients stream. The run's shared Postgres serves every other suite, so this
 * suite starts one of its own (about 3 s) rather than stop that one; a TCP
 * proxy would only cut the path, while this also loses the server's
 * connections, its LISTEN registrations and its shared memory.
 */
describe('Postgres stopped and restarted under load', () => {
  let dataDir: string;
  let port: number;
  let postgres: PostgresProcess;
  let app: HttpApp;
  const clients: SseRecorder[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'eventstream-restart-pg-'));
    port = await freePort();
    postgres = await startPostgresProcess(dataDir, port);
    app = await startHttpApp({
      options: { databaseUrl: postgres.url, connectTimeoutMs: 1_000, queryTimeoutMs: 2_000 },
    });
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await app?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('rejects sends clearly while it is down, and loses or repeats nothing it acknowledged', async () => {
    const channels = ['restart-a', 'restart-b'];
    // One client reads both channels, one reads the first only.
    for (const read of [channels, channels.slice(0, 1)]) {
      const client = new SseRecorder(app.streamUrl(`channel=${read.join('&channel=')}`), {
        headers: { 'Last-Event-ID': read.map((c) => `${c}:0`).join(',') },
        eventTypes: ['n'],
      });
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.until((r) => r.opens === 1)));

    const acknowledged = new Map<string, number[]>(channels.map((c) => [c, []]));
    const failures: unknown[] = [];
    let running = true;
    let counter = 0;
    const publishers = channels.map(async (channel) => {
      while (running) {
        const n = ++counter;
        try {
          const event = await app.events.sendEvent(channel, 'n', { channel, n });
          acknowledged.get(channel)!.push(event.seq);
        } catch (error) {
          failures.push(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    const acks = () => [...acknowledged.values()].reduce((sum, seqs) => sum + seqs.length, 0);

    await waitFor(() => acks() >= 20, 20_000);
    await postgres.stop();
    await waitFor(() => failures.length >= 4, 20_000);
    await expect(app.events.sendEvent('restart-a', 'n', 'down')).rejects.toThrow(
      EventStoreUnavailableError,
    );
    postgres = await startPostgresProcess(dataDir, port);
    const before = acks();
    await waitFor(() => acks() >= before + 20, 30_000);
    running = false;
    await Promise.all(publishers);

    // Every failure while it was down was the clear, typed one.
    for (const failure of failures) expect(failure).toBeInstanceOf(EventStoreUnavailableError);
    // Seqs stay gapless: a rejected send never took a number.
    for (const seqs of acknowledged.values()) {
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    for (const [i, client] of clients.entries()) {
      const read = i === 0 ? channels : channels.slice(0, 1);
      await client.until(
        (c) => read.every((ch) => seqsOf(c, ch).length >= acknowledged.get(ch)!.length),
        30_000,
      );
      for (const channel of read) {
        expect(seqsOf(client, channel)).toEqual(acknowledged.get(channel));
      }
    }
  });
});

/** The seqs of `channel` a client received, read from the composite ids, in order. */
function seqsOf(client: SseRecorder, channel: string): number[] {
  return client
    .events('n')
    .filter((event) => (JSON.parse(event.data) as { channel: string }).channel === channel)
    .map((event) => {
      const entry = event.id.split(',').find((part) => part.startsWith(`${channel}:`));
      return Number(entry?.split(':')[1]);
    });
}
