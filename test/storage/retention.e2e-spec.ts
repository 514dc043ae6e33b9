import { EventPositionTooOldError, type EventStreamService } from '../../src/eventstream';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, withClient, type TestDatabase } from '../harness/postgres';
import { migrateUnpartitioned } from '../harness/unpartitioned';
import { waitFor } from '../harness/wait';

const send = (events: EventStreamService, channel: string, count: number) =>
  events.sendEvents(Array.from({ length: count }, (_, i) => ({ channel, type: 't', data: i })));

/** The seqs a channel keeps in the suite's database, in order. */
const seqsIn = (db: () => TestDatabase) => (channel: string) =>
  db()
    .query<{ seq: number }>(
      'SELECT seq::int FROM eventstream.events WHERE channel = $1 ORDER BY seq',
      [channel],
    )
    .then((rows) => rows.map((r) => r.seq));

describe('retention', () => {
  let db: TestDatabase;
  let stream: EventStreamInstance;
  const seqsOf = seqsIn(() => db);

  beforeAll(async () => {
    db = await createTestDatabase();
    stream = await startEventStream({
      databaseUrl: db.url,
      // Long interval: these tests trigger trims themselves.
      retention: { maxEventsPerChannel: 10, maxAgeMs: 60 * 60 * 1000, intervalMs: 3_600_000 },
    });
  });
  afterAll(async () => {
    await stream?.close();
    await db?.drop();
  });

  it('keeps the newest N events of each channel and never reuses trimmed ids', async () => {
    await send(stream.events, 'count-a', 30);
    await send(stream.events, 'count-b', 5);
    expect(await stream.retention.trimNow()).toBe(20);
    expect(await seqsOf('count-a')).toEqual(range(21, 30));
    expect(await seqsOf('count-b')).toEqual(range(1, 5));

    const next = await stream.events.sendEvent('count-a', 't', 'after trim');
    expect(next.seq).toBe(31);
  });

  it('signals a position older than what is kept, and serves positions inside it', async () => {
    await send(stream.events, 'old', 25);
    await stream.retention.trimNow();
    const tooOld = stream.events.getEvents('old', { after: 5 });
    await expect(tooOld).rejects.toThrow(EventPositionTooOldError);
    await expect(tooOld).rejects.toMatchObject({ requestedSeq: 5, oldestSeq: 16, headSeq: 25 });
    // The last trimmed event is a valid position: nothing after it is missing.
    const page = await stream.events.getEvents('old', { after: 15 });
    expect(page.events.map((e) => e.seq)).toEqual(range(16, 25));
    // Without a position, reading starts at the oldest event kept.
    expect((await stream.events.getEvents('old', { limit: 1 })).events[0].seq).toBe(16);
  });

  it('trims without waiting for writers that hold a channel', async () => {
    await send(stream.events, 'busy', 20);
    await withClient(db.url, async (writer) => {
      // A writer mid-transaction holds the channel's counter row.
      await writer.query('BEGIN');
      await writer.query(`SELECT * FROM eventstream.channels WHERE name = 'busy' FOR UPDATE`);
      try {
        expect(await stream.retention.trimNow()).toBe(10);
      } finally {
        await writer.query('ROLLBACK');
      }
    });
  });

  it('finishes a trim in progress before it closes the pool', async () => {
    const closing = await startEventStream({ databaseUrl: db.url, retention: {} });
    await send(closing.events, 'closing', 3);
    const trimming = closing.retention.trimNow();
    await closing.close();
    await expect(trimming).resolves.toBe(0);
  });

  it('trims in the background on its own timer', async () => {
    const fast = await startEventStream({
      databaseUrl: db.url,
      retention: { maxEventsPerChannel: 2, maxAgeMs: null, intervalMs: 50 },
    });
    try {
      await send(fast.events, 'background', 7);
      await waitFor(async () => (await seqsOf('background')).length === 2);
      expect(await seqsOf('background')).toEqual([6, 7]);
    } finally {
      await fast.close();
    }
  });
});

// Partitioned tables drop whole partitions by age: test/storage/partitions.
describe('retention by age on a table that is not partitioned', () => {
  let db: TestDatabase;
  let stream: EventStreamInstance;
  const seqsOf = seqsIn(() => db);

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrateUnpartitioned(db.url);
    stream = await startEventStream({
      databaseUrl: db.url,
      migrate: false,
      retention: { maxEventsPerChannel: 10, maxAgeMs: 60 * 60 * 1000, intervalMs: 3_600_000 },
    });
  });
  afterAll(async () => {
    await stream?.close();
    await db?.drop();
  });

  it('is a plain table', async () => {
    const [{ kind }] = await db.query<{ kind: string }>(
      "SELECT relkind AS kind FROM pg_class WHERE oid = 'eventstream.events'::regclass",
    );
    expect(kind).toBe('r');
  });

  it('trims by age as a prefix, so what is kept has no holes', async () => {
    await send(stream.events, 'aged', 6);
    // Seqs 1-3 are old; 4 is stamped old too although 5 is newer than it,
    // as happens when an earlier-started transaction commits later.
    await db.query(
      `UPDATE eventstream.events SET created_at = now() - interval '2 hours'
       WHERE channel = 'aged' AND seq IN (1, 2, 3, 5)`,
    );
    await stream.retention.trimNow();
    expect(await seqsOf('aged')).toEqual([6]);
  });

  it('reports a channel whose whole history has expired as too old, keeping its id', async () => {
    await send(stream.events, 'expired', 3);
    await db.query(
      `UPDATE eventstream.events SET created_at = now() - interval '2 hours'
       WHERE channel = 'expired'`,
    );
    await stream.retention.trimNow();
    expect(await seqsOf('expired')).toEqual([]);
    await expect(stream.events.getEvents('expired', { after: 1 })).rejects.toThrow(
      EventPositionTooOldError,
    );
    expect(await stream.events.getEvents('expired', { after: 3 })).toMatchObject({
      events: [],
      hasMore: false,
    });
    expect(await stream.events.getEvents('expired')).toMatchObject({ events: [], cursor: 3 });
    expect(await stream.events.getCurrentEventId('expired')).toBe('expired:3');
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
