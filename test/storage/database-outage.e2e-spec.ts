import { Client } from 'pg';
import { EventStoreUnavailableError } from '../../src/eventstream';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { TcpProxy } from '../harness/tcp-proxy';

describe('database outage', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let stream: EventStreamInstance;

  beforeAll(async () => {
    db = await createTestDatabase();
    const viaProxy = await TcpProxy.inFrontOf(db.url);
    proxy = viaProxy.proxy;
    stream = await startEventStream({
      databaseUrl: viaProxy.url,
      connectTimeoutMs: 1_000,
      queryTimeoutMs: 1_500,
    });
  });
  afterAll(async () => {
    await stream?.close();
    await proxy?.stop();
    await db?.drop();
  });

  const sendOk = async (n: number) => (await stream.events.sendEvent('outage', 't', n)).seq;

  it('rejects clearly while the database is unreachable and recovers without loss', async () => {
    const acknowledged = [await sendOk(1), await sendOk(2)];

    await proxy.refuse();
    const refused = stream.events.sendEvent('outage', 't', 'lost');
    await expect(refused).rejects.toThrow(EventStoreUnavailableError);
    await expect(refused).rejects.toThrow(/Event store unavailable while trying to append events/);
    await expect(stream.events.getEvents('outage')).rejects.toThrow(EventStoreUnavailableError);

    await proxy.forward();
    acknowledged.push(await sendOk(3));

    // A database that stops answering on open connections and never answers
    // new ones: the query and connect timeouts fire instead of sends hanging.
    await proxy.stall();
    const started = Date.now();
    await expect(stream.events.sendEvent('outage', 't', 'hung')).rejects.toThrow(
      EventStoreUnavailableError,
    );
    await expect(stream.events.getCurrentSeq('outage')).rejects.toThrow(EventStoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(10_000);

    await proxy.forward();
    acknowledged.push(await sendOk(4));

    expect(acknowledged).toEqual([1, 2, 3, 4]);
    const stored = await db.query<{ seq: number; data: string }>(
      `SELECT seq::int, data::text FROM eventstream.events WHERE channel = 'outage' ORDER BY seq`,
    );
    expect(stored).toEqual([
      { seq: 1, data: '1' },
      { seq: 2, data: '2' },
      { seq: 3, data: '3' },
      { seq: 4, data: '4' },
    ]);
  });

  it('cancels a send that times out before it commits, so its failure is certain', async () => {
    // An app transaction holds the channel's counter row past the timeout.
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        "INSERT INTO eventstream.channels (name, last_seq) VALUES ('held', 0) " +
          'ON CONFLICT (name) DO UPDATE SET last_seq = eventstream.channels.last_seq',
      );
      const waiting = stream.events.sendEvent('held', 't', 'timed out');
      await expect(waiting).rejects.toThrow(EventStoreUnavailableError);
      await holder.query('COMMIT');
      // Had only the client given up, the statement would still be waiting
      // for the lock, and would commit now.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(
        await db.query('SELECT seq FROM eventstream.events WHERE channel = $1', ['held']),
      ).toEqual([]);
      expect((await stream.events.sendEvent('held', 't', 'next')).seq).toBe(1);
    } finally {
      await holder.end();
    }
  });
});
