import { EventPositionTooOldError } from '../../src/eventstream';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, withClient, type TestDatabase } from '../harness/postgres';
import { PARTITIONING_MIGRATION } from '../harness/unpartitioned';
import { waitFor } from '../harness/wait';
import { applyMigrations } from '../../src/eventstream/storage/postgres/migrator';
import { readMigrationFiles } from '../../src/eventstream/storage/postgres/migration-files';

/** An age limit whose partitions last 1 s (the shortest): a few seconds show them come and go. */
const MAX_AGE_MS = 8_000;

interface PartitionBounds {
  name: string;
  lower: number | null;
  upper: number;
}

describe('partitions of the events table', () => {
  let db: TestDatabase;
  const streams: EventStreamInstance[] = [];
  const start = async (retention: {
    maxEventsPerChannel: number | null;
    maxAgeMs: number | null;
  }) => {
    const stream = await startEventStream({
      databaseUrl: db.url,
      // Trims are triggered by the tests; partitions are kept by their own timer.
      retention: { ...retention, intervalMs: 3_600_000 },
    });
    streams.push(stream);
    return stream;
  };
  const partitions = () =>
    db.query<PartitionBounds>(`
      SELECT c.relname AS name,
        (extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']*)''\\)'))[1]::timestamptz) * 1000)::float8 AS lower,
        (extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']*)''\\)'))[1]::timestamptz) * 1000)::float8 AS upper
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'eventstream.events'::regclass ORDER BY 3`);
  const partitionOf = async (channel: string, seq: number) =>
    (
      await db.query<{ name: string }>(
        'SELECT tableoid::regclass::text AS name FROM eventstream.events WHERE channel = $1 AND seq = $2',
        [channel, seq],
      )
    )[0]?.name;
  const exists = async (table: string) =>
    (await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]))[0]
      .found !== null;
  const seqsOf = (channel: string) =>
    db
      .query<{ seq: number }>(
        'SELECT seq::int FROM eventstream.events WHERE channel = $1 ORDER BY seq',
        [channel],
      )
      .then((rows) => rows.map((r) => r.seq));
  const databaseNow = async () =>
    (await db.query<{ now: number }>('SELECT extract(epoch FROM now())::float8 * 1000 AS now'))[0]
      .now;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
    await db.drop();
  });

  it('covers the clock and three partitions ahead, without gaps, from start-up', async () => {
    await start({ maxEventsPerChannel: null, maxAgeMs: MAX_AGE_MS });
    const now = await databaseNow();
    const bounds = await partitions();
    expect(bounds.length).toBeGreaterThanOrEqual(3);
    expect(bounds[0].lower).toBeLessThanOrEqual(now);
    expect(bounds.at(-1)?.upper).toBeGreaterThan(now + 2_000);
    for (let i = 1; i < bounds.length; i++) expect(bounds[i].lower).toBe(bounds[i - 1].upper);
    for (const { lower, upper } of bounds)
      expect(upper - (lower as number)).toBeLessThanOrEqual(1_000);
  });

  it('drops whole partitions past the age limit, leaving each channel without holes', async () => {
    const stream = await start({ maxEventsPerChannel: null, maxAgeMs: MAX_AGE_MS });
    const first = await stream.events.sendEvents(
      [1, 2, 3].map((n) => ({ channel: 'aged', type: 't', data: n })),
    );
    const oldest = await partitionOf('aged', 1);
    await sleep(2_100);
    await stream.events.sendEvents([4, 5, 6].map((n) => ({ channel: 'aged', type: 't', data: n })));
    expect(await partitionOf('aged', 4)).not.toBe(oldest);

    // Whatever is kept at any moment is the channel's newest events, in one run.
    await waitFor(async () => {
      await stream.retention.trimNow();
      const kept = await seqsOf('aged');
      expect(kept).toEqual(range(7 - kept.length, 6));
      return kept.length === 3;
    }, 12_000);
    expect(await exists(oldest)).toBe(false);
    expect(first[0].createdAt.getTime()).toBeLessThan(Date.now() - MAX_AGE_MS);
    await expect(stream.events.getEvents('aged', { after: 1 })).rejects.toMatchObject({
      oldestSeq: 4,
      headSeq: 6,
    });
    expect((await stream.events.sendEvent('aged', 't', 7)).seq).toBe(7);
  });

  it('reports a channel whose whole history has expired as too old, keeping its id', async () => {
    const stream = await start({ maxEventsPerChannel: null, maxAgeMs: MAX_AGE_MS });
    await stream.events.sendEvents(
      [1, 2, 3].map((n) => ({ channel: 'expired', type: 't', data: n })),
    );
    await waitFor(async () => (await seqsOf('expired')).length === 0, 12_000);
    await expect(stream.events.getEvents('expired', { after: 1 })).rejects.toThrow(
      EventPositionTooOldError,
    );
    expect(await stream.events.getEvents('expired')).toMatchObject({ events: [], cursor: 3 });
    expect(await stream.events.getCurrentEventId('expired')).toBe('expired:3');
  });

  it('drops partitions that retention by count has emptied, before their age', async () => {
    // Longer-lived partitions (3 s) than the other cases: the drop waits for
    // Postgres's statistics to count the partition empty, which on a busy
    // server trails the delete by up to about ten seconds, and must still
    // come well before the age limit.
    const maxAgeMs = 24_000;
    const stream = await start({ maxEventsPerChannel: 5, maxAgeMs });
    await stream.events.sendEvents(
      range(1, 5).map((n) => ({ channel: 'counted', type: 't', data: n })),
    );
    const emptied = await partitionOf('counted', 1);
    const { upper } = (await partitions()).find(
      (partition) => `eventstream.${partition.name}` === emptied,
    )!;
    await sleep(3_100);
    await stream.events.sendEvents(
      range(6, 10).map((n) => ({ channel: 'counted', type: 't', data: n })),
    );
    expect(await partitionOf('counted', 6)).not.toBe(emptied);
    expect(await stream.retention.trimNow()).toBe(5);
    await waitFor(async () => !(await exists(emptied)), 18_000);
    // Retention by age would have dropped it only from here on.
    expect(await databaseNow()).toBeLessThan(upper + maxAgeMs);
    expect(await seqsOf('counted')).toEqual(range(6, 10));
  });

  it('keeps an event whose transaction commits while its partition, empty until then, is detached', async () => {
    const stream = await start({ maxEventsPerChannel: null, maxAgeMs: MAX_AGE_MS });
    await withClient(db.url, async (app) => {
      // An app's transaction that appended, and has not committed yet.
      await app.query('BEGIN');
      await stream.events.sendEvent('late', 't', 'committed late', { transaction: app });
      const [{ name }] = (
        await app.query<{ name: string }>(
          "SELECT tableoid::regclass::text AS name FROM eventstream.events WHERE channel = 'late'",
        )
      ).rows;
      // Its partition ends, and a second interval passes: to every other
      // session it is an empty partition of the past.
      await sleep(2_300);
      const trimming = stream.retention.trimNow();
      await sleep(500);
      await app.query('COMMIT');
      await trimming;
      await waitFor(() => exists(name), 3_000);
    });
    expect((await stream.events.getEvents('late')).events.map((e) => e.data)).toEqual([
      'committed late',
    ]);
  });

  it('stamps events so that created_at never goes back as seqs go up in a channel', async () => {
    const stream = await start({ maxEventsPerChannel: null, maxAgeMs: MAX_AGE_MS });
    await withClient(db.url, async (app) => {
      // A transaction that began before the next send, and appends after it:
      // stamped with its start, its event would sit in an older partition.
      await app.query('BEGIN');
      await app.query('SELECT now()');
      await sleep(1_100);
      await stream.events.sendEvent('stamped', 't', 1);
      await stream.events.sendEvent('stamped', 't', 2, { transaction: app });
      await app.query('COMMIT');
    });
    const rows = await db.query<{ seq: number; at: Date; name: string }>(
      `SELECT seq::int, created_at AS at, tableoid::regclass::text AS name
       FROM eventstream.events WHERE channel = 'stamped' ORDER BY seq`,
    );
    expect(rows.map((row) => row.seq)).toEqual([1, 2]);
    expect(rows[1].at.getTime()).toBeGreaterThanOrEqual(rows[0].at.getTime());
    const order = (await partitions()).map((partition) => partition.name);
    expect(order.indexOf(rows[1].name)).toBeGreaterThanOrEqual(order.indexOf(rows[0].name));
  });

  it('converts a table that holds events, which stay readable, and ids count on', async () => {
    await withClient(db.url, async (client) => {
      await client.query('CREATE SCHEMA eventstream');
      await applyMigrations(client, {
        schema: 'eventstream',
        migrations: readMigrationFiles().filter((m) => m.name !== PARTITIONING_MIGRATION),
      });
      // As the previous version left them: stamped by their transactions' start.
      await client.query(`INSERT INTO eventstream.channels (name, last_seq) VALUES ('old', 1000)`);
      await client.query(
        `INSERT INTO eventstream.events (channel, seq, type, data, created_at)
         SELECT 'old', n, 't', n::text::json, now() - interval '1 hour' + (n % 7) * interval '1 s'
         FROM generate_series(1, 1000) n`,
      );
    });
    const stream = await start({ maxEventsPerChannel: 500, maxAgeMs: null });
    expect(await partitionOf('old', 1)).toBe('eventstream.events_old');
    const page = await stream.events.getEvents('old', { after: 995 });
    expect(page.events.map((e) => e.data)).toEqual([996, 997, 998, 999, 1000]);
    const next = await stream.events.sendEvent('old', 't', 1001);
    expect(next.seq).toBe(1001);
    expect(await partitionOf('old', 1001)).toMatch(/^eventstream\.events_p\d+$/);
    // Retention by count reaches into the old events' partition.
    expect(await stream.retention.trimNow()).toBe(501);
    expect(await seqsOf('old')).toEqual(range(502, 1001));
  });

  it('creates the missing partition when a send, keyed or not, finds none for its time', async () => {
    // Day-long partitions: the timer does not run again during the test.
    const stream = await start({ maxEventsPerChannel: null, maxAgeMs: null });
    for (const { name } of await partitions()) {
      await db.query(`ALTER TABLE eventstream.events DETACH PARTITION eventstream.${name}`);
      await db.query(`DROP TABLE eventstream.${name}`);
    }
    expect(await partitions()).toEqual([]);
    const [one, many, keyed] = await Promise.all([
      stream.events.sendEvent('lone', 't', 1),
      stream.events.sendEvents([
        { channel: 'a', type: 't', data: 1 },
        { channel: 'b', type: 't', data: 2 },
      ]),
      stream.events.sendEvent('keyed', 't', 3, { idempotencyKey: 'after-a-gap' }),
    ]);
    expect(one.seq).toBe(1);
    expect(many.map((e) => e.seq)).toEqual([1, 1]);
    expect(keyed.seq).toBe(1);
    expect((await partitions()).length).toBeGreaterThan(0);
    // The key was claimed once, with the event: a retry stores nothing.
    const retried = await stream.events.sendEvent('keyed', 't', 3, {
      idempotencyKey: 'after-a-gap',
    });
    expect(retried.seq).toBe(1);
    expect(await seqsOf('keyed')).toEqual([1]);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
