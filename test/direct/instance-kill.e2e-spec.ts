import { freePort } from '../../src/server/free-port';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';

const KEY = 'instance-kill-key-0123456789';

/**
 * An app instance (the bundled server, a real process) killed with SIGKILL
 * while publishers send to it, next to a second instance on the same
 * database: what it acknowledged reaches every client, and what it did not
 * arrives once or not at all.
 */
describe('an instance killed mid-publish', () => {
  let db: TestDatabase;
  let port: number;
  let victim: ServerProcess;
  let survivor: ServerProcess;
  const clients: SseRecorder[] = [];
  const env = () => ({ DATABASE_URL: db.url, EVENTSTREAM_PUBLISH_KEY: KEY });

  beforeAll(async () => {
    db = await createTestDatabase();
    port = await freePort();
    [victim, survivor] = await Promise.all([
      startServerProcess(env(), port),
      startServerProcess(env()),
    ]);
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await victim?.stop();
    await survivor?.stop();
    await db?.drop();
  });

  const publish = async (n: number): Promise<'acked' | 'unacked'> => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ channel: 'killed', type: 'n', data: n }),
      });
      await response.text();
      return response.status === 201 ? 'acked' : 'unacked';
    } catch {
      return 'unacked'; // the connection was cut or refused: no answer
    }
  };

  it('delivers every acknowledged event after reconnect, and nothing twice', async () => {
    // One client on the instance that dies (it reconnects to it once it is
    // back), one on the instance that stays.
    for (const base of [`http://127.0.0.1:${port}`, survivor.baseUrl]) {
      const client = new SseRecorder(`${base}/events?channel=killed`, {
        headers: { 'Last-Event-ID': 'killed:0' },
        eventTypes: ['n'],
      });
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.until((r) => r.opens === 1)));

    const acked: number[] = [];
    const unacked: number[] = [];
    let next = 0;
    let running = true;
    const publishers = Array.from({ length: 4 }, async () => {
      while (running) {
        const n = ++next;
        ((await publish(n)) === 'acked' ? acked : unacked).push(n);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    await waitFor(() => acked.length >= 40, 30_000);
    await victim.kill();
    // Publishers keep trying against the dead port for a moment.
    await waitFor(() => unacked.length >= 8, 30_000);
    running = false;
    await Promise.all(publishers);

    victim = await startServerProcess(env(), port);
    expect(await publish(++next)).toBe('acked');
    acked.push(next);

    for (const client of clients) {
      await client.until((c) => c.events('n').some((e) => Number(e.data) === next), 30_000);
      const received = client.events('n');
      const numbers = received.map((e) => Number(e.data));
      const seqs = received.map((e) => Number(e.id.split(':')[1]));
      // Nothing twice, and in the channel's order.
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      // Everything acknowledged; unacknowledged events only as they were stored.
      expect(numbers).toEqual(expect.arrayContaining(acked));
      for (const n of numbers) expect(acked.includes(n) || unacked.includes(n)).toBe(true);
    }
    // Both clients saw the same history.
    expect(clients[0].events('n')).toEqual(clients[1].events('n'));
    // The client of the killed instance had to come back.
    expect(clients[0].opens).toBeGreaterThanOrEqual(2);
  });
});
