import { Client } from 'pg';
import {
  EventStoreUnavailableError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
  type EventRecord,
} from '../../src/eventstream';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { TcpProxy } from '../harness/tcp-proxy';

/**
 * Exactly-once sends: idempotency keys kept in Postgres with the events, on
 * two module instances over one database, one of them behind a TCP proxy
 * that can cut its connection at the commit.
 */
describe('idempotency keys', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  /** Behind the proxy. */
  let a: EventStreamInstance;
  let b: EventStreamInstance;
  const stored = async (channel: string) =>
    db.query<{ seq: number; data: string }>(
      'SELECT seq::int, data::text FROM eventstream.events WHERE channel = $1 ORDER BY seq',
      [channel],
    );
  const keyRows = async () =>
    (
      await db.query<{ key: string }>('SELECT key FROM eventstream.idempotency_keys ORDER BY key')
    ).map(({ key }) => key);

  beforeAll(async () => {
    db = await createTestDatabase();
    const viaProxy = await TcpProxy.inFrontOf(db.url);
    proxy = viaProxy.proxy;
    a = await startEventStream({
      databaseUrl: viaProxy.url,
      connectTimeoutMs: 1_000,
      queryTimeoutMs: 3_000,
    });
    b = await startEventStream({ databaseUrl: db.url, migrate: false });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('stores a keyed send once and answers a second send with the first’s records', async () => {
    const first = await a.events.sendEvent('once', 'note', { n: 1 }, { idempotencyKey: 'k-once' });
    const again = await b.events.sendEvent('once', 'note', { n: 1 }, { idempotencyKey: 'k-once' });
    expect(again).toEqual(first);
    expect(again.createdAt).toBeInstanceOf(Date);
    expect(await stored('once')).toEqual([{ seq: 1, data: '{"n":1}' }]);

    const batch = [
      { channel: 'once', type: 'note', data: 'x' },
      { channel: 'once-b', type: 'note', data: 'y' },
    ];
    const firstBatch = await a.events.sendEvents(batch, { idempotencyKey: 'k-batch' });
    expect(firstBatch.map((r) => r.id)).toEqual(['once:2', 'once-b:1']);
    expect(await a.events.sendEvents(batch, { idempotencyKey: 'k-batch' })).toEqual(firstBatch);
    // Without a key, sends are as they were: each one stored.
    await a.events.sendEvent('once', 'note', 'plain');
    await a.events.sendEvent('once', 'note', 'plain');
    expect((await stored('once')).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(await stored('once-b')).toHaveLength(1);
  });

  it('refuses the same key with other events, storing nothing', async () => {
    await a.events.sendEvent('reuse', 'note', 1, { idempotencyKey: 'k-reuse' });
    const others: [string, string, unknown][] = [
      ['reuse', 'note', 2],
      ['reuse-other', 'note', 1],
      ['reuse', 'other-type', 1],
    ];
    for (const [channel, type, data] of others) {
      const sent = b.events.sendEvent(channel, type, data, { idempotencyKey: 'k-reuse' });
      await expect(sent).rejects.toThrow(IdempotencyKeyReusedError);
      await expect(sent).rejects.toThrow(/"k-reuse" was already used for other events/);
    }
    await expect(
      a.events.sendEvents(
        [
          { channel: 'reuse', type: 'note', data: 1 },
          { channel: 'reuse', type: 'note', data: 1 },
        ],
        { idempotencyKey: 'k-reuse' },
      ),
    ).rejects.toMatchObject({ code: 'idempotency-key-reused', key: 'k-reuse' });
    expect(await stored('reuse')).toEqual([{ seq: 1, data: '1' }]);
    expect(await stored('reuse-other')).toEqual([]);
  });

  it('refuses a key that is not printable text of 1 to 255 characters, before storing', async () => {
    const bad: [unknown, RegExp][] = [
      ['', /Invalid idempotencyKey "": it must not be empty/],
      ['x'.repeat(256), /at most 255 characters, got 256/],
      ['line\nbreak', /printable text/],
      ['nul\u0000', /printable text/],
      ['half \ud800', /printable text/],
      [42, /Invalid idempotencyKey \(number\): it must be a string/],
    ];
    for (const [key, message] of bad) {
      const sent = a.events.sendEvent('badkey', 'note', 1, {
        idempotencyKey: key as string,
      });
      await expect(sent).rejects.toThrow(InvalidIdempotencyKeyError);
      await expect(sent).rejects.toThrow(message);
    }
    expect(await stored('badkey')).toEqual([]);
    // The longest key, and any printable text, is fine.
    const long = 'é'.repeat(255);
    const sent = await a.events.sendEvent('badkey', 'note', 1, { idempotencyKey: long });
    expect((await a.events.sendEvent('badkey', 'note', 1, { idempotencyKey: long })).id).toBe(
      sent.id,
    );
  });

  it('makes a send whose connection was cut as it committed safe to retry', async () => {
    // Committed, but the answer is lost: the caller cannot tell.
    const cut = proxy.cutAt('COMMIT', 'reply');
    const lost = a.events.sendEvent('cut', 'note', 'one', { idempotencyKey: 'k-cut-1' });
    await expect(lost).rejects.toThrow(EventStoreUnavailableError);
    await cut;
    expect(await stored('cut')).toEqual([{ seq: 1, data: '"one"' }]);
    const retried = await a.events.sendEvent('cut', 'note', 'one', { idempotencyKey: 'k-cut-1' });
    expect(retried).toMatchObject({ id: 'cut:1', seq: 1, data: 'one' });
    expect(await stored('cut')).toEqual([{ seq: 1, data: '"one"' }]);

    // Cut before the server got the COMMIT: nothing committed, and the retry
    // (which waits for the server to roll the first back) stores it once.
    const before = proxy.cutAt('COMMIT', 'request');
    const unsent = a.events.sendEvent('cut', 'note', 'two', { idempotencyKey: 'k-cut-2' });
    await expect(unsent).rejects.toThrow(EventStoreUnavailableError);
    await before;
    const second = await a.events.sendEvent('cut', 'note', 'two', { idempotencyKey: 'k-cut-2' });
    expect(second.seq).toBe(2);
    expect(await b.events.sendEvent('cut', 'note', 'two', { idempotencyKey: 'k-cut-2' })).toEqual(
      second,
    );
    expect(await stored('cut')).toEqual([
      { seq: 1, data: '"one"' },
      { seq: 2, data: '"two"' },
    ]);
  });

  it('stores one of 20 concurrent sends of a key from two instances; all get its records', async () => {
    const sends = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? a : b).events.sendEvents(
        [
          { channel: 'race', type: 'note', data: 'once' },
          { channel: 'race-2', type: 'note', data: 'once' },
        ],
        { idempotencyKey: 'k-race' },
      ),
    );
    // Other sends on the channel, grouped or not, go on beside them.
    const plain = Array.from({ length: 10 }, (_, i) => b.events.sendEvent('race', 'note', i));
    const results = await Promise.all(sends);
    await Promise.all(plain);
    const [first] = results;
    for (const result of results) expect(result).toEqual(first);
    const race = await stored('race');
    expect(race.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(race.filter((e) => e.data === '"once"')).toHaveLength(1);
    expect(await stored('race-2')).toEqual([{ seq: 1, data: '"once"' }]);
  });

  it('stores anew once the window has passed, and retention trims expired keys', async () => {
    const short = await startEventStream({
      databaseUrl: db.url,
      migrate: false,
      idempotencyWindowMs: 300,
    });
    try {
      const send = (data: string) =>
        short.events.sendEvent('window', 'note', data, { idempotencyKey: 'k-window' });
      const first = await send('a');
      expect(await send('a')).toEqual(first);
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Expired, though not trimmed: the key is free, for the same events or others.
      expect(await keyRows()).toContain('k-window');
      expect((await send('a')).seq).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await send('b')).seq).toBe(3);
      expect((await stored('window')).map((e) => e.data)).toEqual(['"a"', '"a"', '"b"']);

      await new Promise((resolve) => setTimeout(resolve, 400));
      const live = await short.events.sendEvent('window', 'note', 'c', {
        idempotencyKey: 'k-window-live',
      });
      // retention: false keeps every event, and still trims expired keys.
      expect(await short.retention.trimNow()).toBe(0);
      const left = await keyRows();
      expect(left).not.toContain('k-window');
      expect(left).toContain('k-window-live');
      expect(live.seq).toBe(4);
    } finally {
      await short.close();
    }
  });

  describe('in the app’s transaction', () => {
    let client: Client;
    beforeEach(async () => {
      client = new Client({ connectionString: db.url });
      await client.connect();
    });
    afterEach(() => client.end());

    it('claims the key in that transaction: a concurrent send waits for its commit', async () => {
      await client.query('BEGIN');
      const inside = await a.events.sendEvent('tx', 'note', 1, {
        transaction: client,
        idempotencyKey: 'k-tx',
      });
      // The same send again in the transaction is answered from its own key.
      expect(
        await a.events.sendEvent('tx', 'note', 1, { transaction: client, idempotencyKey: 'k-tx' }),
      ).toEqual(inside);
      let outsideDone = false;
      const outside = b.events
        .sendEvent('tx', 'note', 1, { idempotencyKey: 'k-tx' })
        .finally(() => (outsideDone = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(outsideDone).toBe(false);
      await client.query('COMMIT');
      expect(await outside).toEqual(inside);
      expect(await stored('tx')).toEqual([{ seq: 1, data: '1' }]);
    });

    it('keeps sends waiting on a key from taking the pool from other sends', async () => {
      const small = await startEventStream({
        databaseUrl: db.url,
        migrate: false,
        poolSize: 2,
        connectTimeoutMs: 1_000,
      });
      try {
        await client.query('BEGIN');
        const held = await a.events.sendEvent('tx-pool', 'note', 1, {
          transaction: client,
          idempotencyKey: 'k-tx-pool',
        });
        const waiting = Array.from({ length: 10 }, () =>
          small.events.sendEvent('tx-pool', 'note', 1, { idempotencyKey: 'k-tx-pool' }),
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Ten sends wait on the key, yet a send elsewhere gets a connection at once.
        expect((await small.events.sendEvent('tx-pool-other', 'note', 1)).seq).toBe(1);
        await client.query('COMMIT');
        for (const record of await Promise.all(waiting)) expect(record).toEqual(held);
        expect(await stored('tx-pool')).toEqual([{ seq: 1, data: '1' }]);
      } finally {
        await small.close();
      }
    });

    it('frees the key when that transaction rolls back', async () => {
      await client.query('BEGIN');
      await a.events.sendEvent('tx-back', 'note', 1, {
        transaction: client,
        idempotencyKey: 'k-tx-back',
      });
      const outside = b.events.sendEvent('tx-back', 'note', 1, { idempotencyKey: 'k-tx-back' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.query('ROLLBACK');
      const record: EventRecord = await outside;
      expect(record.seq).toBe(1);
      expect(await stored('tx-back')).toEqual([{ seq: 1, data: '1' }]);
      expect(await keyRows()).toContain('k-tx-back');
    });
  });
});
