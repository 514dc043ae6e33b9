import { Client, Pool } from 'pg';
import { EventStoreError, type EventRecord } from '../../src/eventstream';
import { EVENT_STORE, type EventStore } from '../../src/eventstream/storage/event-store.interface';
import { EventDatabase } from '../../src/eventstream/storage/postgres/event-database';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { within } from '../harness/wait';

const CALLERS = 64;
const ROUNDS = 10;

describe('group commit: concurrent sends share transactions', () => {
  let db: TestDatabase;
  let instance: EventStreamInstance;
  /** Connections of its own, to see what is committed while sends go on. */
  let observer: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    instance = await startEventStream({ databaseUrl: db.url, poolSize: 10 });
    observer = new Pool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await observer?.end();
    await instance?.close();
    await db?.drop();
  });

  it('resolves each send only once its event is committed, gapless and in order per caller', async () => {
    const pool = instance.app.get(EventDatabase).pool;
    let checkouts = 0;
    const countCheckout = () => checkouts++;
    pool.on('acquire', countCheckout);
    const missing: string[] = [];
    const byCaller: EventRecord[][] = Array.from({ length: CALLERS }, () => []);
    const visible: Promise<void>[] = [];
    try {
      await Promise.all(
        Array.from({ length: CALLERS }, async (_, caller) => {
          for (let round = 0; round < ROUNDS; round++) {
            const record = await instance.events.sendEvent('hot', 'n', { caller, round });
            byCaller[caller].push(record);
            // Resolved means committed: another connection sees it right away.
            visible.push(
              observer
                .query('SELECT 1 FROM eventstream.events WHERE channel = $1 AND seq = $2', [
                  'hot',
                  record.seq,
                ])
                .then(({ rowCount }) => {
                  if (rowCount !== 1) missing.push(record.id);
                }),
            );
          }
        }),
      );
    } finally {
      pool.off('acquire', countCheckout);
    }
    await Promise.all(visible);
    expect(missing).toEqual([]);

    const seqs = byCaller.flat().map((record) => record.seq);
    expect(new Set(seqs).size).toBe(CALLERS * ROUNDS);
    expect(Math.max(...seqs)).toBe(CALLERS * ROUNDS);
    // A caller's later send always lands after its earlier one.
    for (const records of byCaller) {
      records.slice(1).forEach((record, i) => expect(record.seq).toBeGreaterThan(records[i].seq));
    }
    // Stored as sent: the event under each seq is the one its caller was told.
    const { rows } = await observer.query<{ seq: string; data: { caller: number; round: number } }>(
      'SELECT seq, data FROM eventstream.events WHERE channel = $1 ORDER BY seq',
      ['hot'],
    );
    expect(rows.map((row) => Number(row.seq))).toEqual(seqs.sort((a, b) => a - b));
    const told = new Map(byCaller.flat().map((r) => [r.seq, r.data]));
    for (const row of rows) expect(row.data).toEqual(told.get(Number(row.seq)));
    // The point of it: far fewer transactions (each one connection checkout)
    // than sends.
    expect(checkouts).toBeLessThan((CALLERS * ROUNDS) / 4);
  });

  it('keeps a batch whole and in order when it is committed together with other sends', async () => {
    const batches = await Promise.all(
      Array.from({ length: 20 }, (_, b) =>
        b % 2 === 0
          ? instance.events.sendEvents(
              Array.from({ length: 5 }, (_, k) => ({
                channel: k % 2 === 0 ? 'mix-a' : 'mix-b',
                type: 'n',
                data: { b, k },
              })),
            )
          : instance.events.sendEvent('mix-a', 'n', { b }).then((record) => [record]),
      ),
    );
    for (const batch of batches.filter((records) => records.length === 5)) {
      const a = batch.filter((record) => record.channel === 'mix-a').map((r) => r.seq);
      const b = batch.filter((record) => record.channel === 'mix-b').map((r) => r.seq);
      expect(a).toEqual([a[0], a[0] + 1, a[0] + 2]);
      expect(b).toEqual([b[0], b[0] + 1]);
    }
    const all = batches.flat();
    for (const channel of ['mix-a', 'mix-b']) {
      const seqs = all
        .filter((record) => record.channel === channel)
        .map((record) => record.seq)
        .sort((x, y) => x - y);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });

  it('fails only the caller whose events Postgres refuses, not the others of its group', async () => {
    const store = instance.app.get<EventStore>(EVENT_STORE);
    const good = (i: number) => store.append([{ channel: 'poison', type: 'n', json: `${i}` }]);
    const results = await Promise.allSettled([
      good(1),
      good(2),
      store.append([{ channel: 'poison', type: 'n', json: '{not json' }]),
      good(3),
      good(4),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(EventStoreError);
    const { rows } = await observer.query<{ seq: string }>(
      'SELECT seq FROM eventstream.events WHERE channel = $1 ORDER BY seq',
      ['poison'],
    );
    // Nothing of the refused caller, and no hole where it would have been.
    expect(rows.map((row) => Number(row.seq))).toEqual([1, 2, 3, 4]);
  });

  it('fails only the caller whose events Postgres refuses when sends on many channels go together', async () => {
    const store = instance.app.get<EventStore>(EVENT_STORE);
    const send = (channel: string, json: string) => store.append([{ channel, type: 'n', json }]);
    const results = await Promise.allSettled([
      send('spread-a', '1'),
      send('spread-b', '1'),
      send('spread-c', '{not json'),
      send('spread-d', '1'),
      send('spread-a', '2'),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const { rows } = await observer.query<{ channel: string; seq: string; data: number }>(
      "SELECT channel, seq, data FROM eventstream.events WHERE channel LIKE 'spread-%' ORDER BY channel, seq",
    );
    expect(rows.map((row) => [row.channel, Number(row.seq), row.data])).toEqual([
      ['spread-a', 1, 1],
      ['spread-a', 2, 2],
      ['spread-b', 1, 1],
      ['spread-d', 1, 1],
    ]);
  });

  it('lets an app transaction that holds one channel delay no send on another', async () => {
    const transaction = new Client({ connectionString: db.url });
    await transaction.connect();
    try {
      await transaction.query('BEGIN');
      await instance.events.sendEvent('held', 'n', 0, { transaction });
      // Waits for the transaction's counter-row lock on `held`…
      let blockedDone = false;
      const blocked = instance.events.sendEvent('held', 'n', 1).finally(() => {
        blockedDone = true;
      });
      // …while a send on another channel, arriving meanwhile, is not held up behind it.
      const other = await within(
        instance.events.sendEvent('free', 'n', 1),
        5_000,
        'held up by another channel’s lock',
      );
      expect(other.seq).toBe(1);
      expect(blockedDone).toBe(false);
      await transaction.query('COMMIT');
      expect((await blocked).seq).toBe(2);
    } finally {
      await transaction.end();
    }
  });

  it('commits sends on many channels together, each channel gapless and in the order its sends came', async () => {
    const channels = Array.from({ length: 100 }, (_, i) => `many-${i}`);
    const pool = instance.app.get(EventDatabase).pool;
    let checkouts = 0;
    const countCheckout = () => checkouts++;
    pool.on('acquire', countCheckout);
    const told = new Map<string, unknown>();
    // Each caller sends to one channel after another, never waiting on a
    // send before the next on another channel: the order on each channel is
    // the order its sends were made.
    const made = new Map<string, number[]>(channels.map((channel) => [channel, []]));
    try {
      await Promise.all(
        Array.from({ length: CALLERS }, async (_, caller) => {
          for (let round = 0; round < ROUNDS; round++) {
            const pair = [0, 1].map((k) => channels[(caller * 7 + round * 13 + k * 50) % 100]);
            const records = await Promise.all(
              pair.map((channel, k) => {
                const data = { caller, round, k };
                made.get(channel)!.push(caller * 1_000 + round * 10 + k);
                return instance.events.sendEvent(channel, 'n', data);
              }),
            );
            for (const record of records) told.set(record.id, record.data);
          }
        }),
      );
    } finally {
      pool.off('acquire', countCheckout);
    }
    expect(told.size).toBe(CALLERS * ROUNDS * 2);
    const { rows } = await observer.query<{
      id: string;
      channel: string;
      seq: string;
      data: { caller: number; round: number; k: number };
    }>(
      "SELECT channel || ':' || seq AS id, channel, seq, data FROM eventstream.events WHERE channel LIKE 'many-%' ORDER BY channel, seq",
    );
    expect(rows).toHaveLength(CALLERS * ROUNDS * 2);
    for (const row of rows) expect(row.data).toEqual(told.get(row.id));
    for (const channel of channels) {
      const stored = rows.filter((row) => row.channel === channel);
      expect(stored.map((row) => Number(row.seq))).toEqual(stored.map((_, i) => i + 1));
      const order = stored.map((row) => row.data.caller * 1_000 + row.data.round * 10 + row.data.k);
      expect(order).toEqual(made.get(channel));
    }
    // Grouped across channels: far fewer transactions than sends (grouped
    // per channel only, there were about as many as sends). Each channel's
    // first send goes alone, since its counter row does not exist yet.
    expect(checkouts).toBeLessThan((CALLERS * ROUNDS * 2) / 4);
  });

  it('commits sends on other channels in one transaction past a channel an app transaction holds', async () => {
    const free = Array.from({ length: 10 }, (_, i) => `past-${i}`);
    // Counter rows exist, as for any channel written before.
    await Promise.all(
      [...free, 'past-held'].map((channel) => instance.events.sendEvent(channel, 'n', 0)),
    );
    const transaction = new Client({ connectionString: db.url });
    await transaction.connect();
    try {
      await transaction.query('BEGIN');
      await instance.events.sendEvent('past-held', 'n', 1, { transaction });
      let heldDone = false;
      const held = instance.events.sendEvent('past-held', 'n', 2).finally(() => {
        heldDone = true;
      });
      const others = await within(
        Promise.all(free.map((channel) => instance.events.sendEvent(channel, 'n', 1))),
        5_000,
        'held up by another channel’s lock',
      );
      expect(others.map((record) => record.seq)).toEqual(free.map(() => 2));
      expect(heldDone).toBe(false);
      const { rows } = await observer.query<{ xmin: string }>(
        'SELECT DISTINCT xmin::text FROM eventstream.events WHERE channel = ANY($1) AND seq = 2',
        [free],
      );
      expect(rows).toHaveLength(1);
      await transaction.query('COMMIT');
      expect((await held).seq).toBe(3);
    } finally {
      await transaction.end();
    }
  });

  it('holds up no other channel while sends wait on several channels that app transactions hold', async () => {
    const heldChannels = ['stuck-0', 'stuck-1', 'stuck-2'];
    const free = Array.from({ length: 6 }, (_, i) => `unstuck-${i}`);
    await Promise.all(
      [...heldChannels, ...free].map((channel) => instance.events.sendEvent(channel, 'n', 0)),
    );
    const transactions = heldChannels.map(() => new Client({ connectionString: db.url }));
    try {
      for (const [i, transaction] of transactions.entries()) {
        await transaction.connect();
        await transaction.query('BEGIN');
        await instance.events.sendEvent(heldChannels[i], 'n', 1, { transaction });
      }
      // Each held channel in a batch of its own with a free one, one after another.
      const waiting: Promise<unknown>[] = [];
      for (const [i, channel] of heldChannels.entries()) {
        waiting.push(instance.events.sendEvent(channel, 'n', 2));
        waiting.push(instance.events.sendEvent(free[i], 'n', 1));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const later = await within(
        Promise.all(free.slice(3).map((channel) => instance.events.sendEvent(channel, 'n', 1))),
        5_000,
        'held up by other channels’ locks',
      );
      expect(later.map((record) => record.seq)).toEqual([2, 2, 2]);
      for (const transaction of transactions) await transaction.query('COMMIT');
      await Promise.all(waiting);
    } finally {
      await Promise.all(transactions.map((transaction) => transaction.end()));
    }
  });
});
