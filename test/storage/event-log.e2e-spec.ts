import {
  EventPositionAheadError,
  InvalidChannelError,
  InvalidEventDataError,
  InvalidEventTypeError,
  InvalidPositionError,
} from '../../src/eventstream';
import { EVENT_STORE, type EventStore } from '../../src/eventstream/storage';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';

describe('event log', () => {
  let db: TestDatabase;
  let stream: EventStreamInstance;

  beforeAll(async () => {
    db = await createTestDatabase();
    stream = await startEventStream({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await stream?.close();
    await db?.drop();
  });

  it('numbers each channel from 1 and resolves with the committed event', async () => {
    const first = await stream.events.sendEvent('room-a', 'message', { text: 'hi' });
    const second = await stream.events.sendEvent('room-a', 'message', { text: 'there' });
    const other = await stream.events.sendEvent('room-b', 'message', { text: 'elsewhere' });

    expect(first).toMatchObject({ id: 'room-a:1', channel: 'room-a', seq: 1, type: 'message' });
    expect(first.data).toEqual({ text: 'hi' });
    expect(first.createdAt).toBeInstanceOf(Date);
    expect(second.seq).toBe(2);
    expect(other).toMatchObject({ id: 'room-b:1', seq: 1 });
    const [row] = await db.query<{ type: string; data: string }>(
      `SELECT type, data::text AS data FROM eventstream.events WHERE channel = 'room-a' AND seq = 2`,
    );
    expect(row).toEqual({ type: 'message', data: '{"text":"there"}' });
  });

  it('keeps the JSON exactly as sent, unicode and all', async () => {
    const data = {
      b: 1,
      a: ['é', '😀', 'line\nbreak', '\u2028'],
      n: null,
      nested: { deep: [1.5] },
    };
    const sent = await stream.events.sendEvent('unicode', 'note', data);
    const page = await stream.events.getEvents('unicode');
    expect(page.events[0].data).toEqual(data);
    const [row] = await db.query<{ data: string }>(
      `SELECT data::text AS data FROM eventstream.events WHERE channel = 'unicode' AND seq = $1`,
      [sent.seq],
    );
    expect(row.data).toBe(JSON.stringify(data));
  });

  it('writes a batch over several channels in one transaction, in the given order', async () => {
    const records = await stream.events.sendEvents([
      { channel: 'batch-x', type: 't', data: 1 },
      { channel: 'batch-y', type: 't', data: 2 },
      { channel: 'batch-x', type: 't', data: 3 },
      { channel: 'batch-x', type: 't', data: 4 },
    ]);
    expect(records.map((r) => [r.id, r.data])).toEqual([
      ['batch-x:1', 1],
      ['batch-y:1', 2],
      ['batch-x:2', 3],
      ['batch-x:3', 4],
    ]);
    const page = await stream.events.getEvents('batch-x');
    expect(page.events.map((e) => e.data)).toEqual([1, 3, 4]);
  });

  it('stores nothing from a batch that holds one invalid event', async () => {
    await expect(
      stream.events.sendEvents([
        { channel: 'atomic', type: 'ok', data: 1 },
        { channel: 'atomic', type: 'bad\ntype', data: 2 },
      ]),
    ).rejects.toThrow(InvalidEventTypeError);
    expect(await stream.events.getCurrentSeq('atomic')).toBe(0);
  });

  it('rejects invalid channels, types and data with typed errors and stores nothing', async () => {
    const { events } = stream;
    await expect(events.sendEvent('', 't', 1)).rejects.toThrow(InvalidChannelError);
    await expect(events.sendEvent('has space', 't', 1)).rejects.toThrow(
      /may contain only letters, digits/,
    );
    await expect(events.sendEvent('x'.repeat(129), 't', 1)).rejects.toThrow(/at most 128/);
    await expect(events.sendEvent('ok', 'a\r\nid: 9', 1)).rejects.toThrow(InvalidEventTypeError);
    await expect(events.sendEvent('ok', 'stream-reset', 1)).rejects.toThrow(/reserved/);
    await expect(events.sendEvent('ok', 't', undefined)).rejects.toThrow(InvalidEventDataError);
    await expect(events.sendEvent('ok', 't', { big: 'x'.repeat(70_000) })).rejects.toThrow(
      /more than the limit of 65536/,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(events.sendEvent('ok', 't', cyclic)).rejects.toThrow(/cannot be encoded as JSON/);
    await expect(events.sendEvent('ok', 't', 10n)).rejects.toThrow(InvalidEventDataError);
    expect(await events.getCurrentSeq('ok')).toBe(0);
  });

  it('reads after a position, in pages that always advance', async () => {
    const channel = 'paged';
    await stream.events.sendEvents(
      Array.from({ length: 25 }, (_, i) => ({ channel, type: 'n', data: i + 1 })),
    );
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages++) {
      const page = await stream.events.getEvents(channel, { after, limit: 10 });
      seen.push(...page.events.map((e) => e.seq));
      expect(page.cursor).toBe(seen.at(-1));
      after = page.cursor;
      if (!page.hasMore) break;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const tail = await stream.events.getEvents(channel, { after: 25 });
    expect(tail).toEqual({ events: [], cursor: 25, headSeq: 25, hasMore: false });
  });

  it('caps a page by the bytes of its data, always giving at least one event', async () => {
    const store = stream.app.get<EventStore>(EVENT_STORE);
    // Each event's JSON is 102 bytes: a quoted string of 100 characters.
    await stream.events.sendEvents(
      Array.from({ length: 5 }, (_, i) => ({
        channel: 'sized',
        type: 'n',
        data: `${i}`.repeat(100),
      })),
    );
    const seqs = async (after: number, maxBytes?: number) => {
      const result = await store.read('sized', after, 10, maxBytes);
      return result.status === 'events' ? result.events.map((e) => e.seq) : result.status;
    };
    expect(await seqs(0)).toEqual([1, 2, 3, 4, 5]);
    // Up to the event that takes the page past the cap.
    expect(await seqs(0, 204)).toEqual([1, 2]);
    expect(await seqs(0, 205)).toEqual([1, 2, 3]);
    expect(await seqs(1, 1)).toEqual([2]);
    const last = await store.read('sized', 4, 10, 1);
    expect(last.status === 'events' && last.events.map((e) => e.json)).toEqual([
      JSON.stringify('4'.repeat(100)),
    ]);
  });

  it('reads each event back with the time its send committed, also in JSON', async () => {
    const store = stream.app.get<EventStore>(EVENT_STORE);
    const sent = await stream.events.sendEvent('timed', 't', 1);
    const read = await store.read('timed', 0, 10);
    const [event] = read.status === 'events' ? read.events : [];
    expect(event.createdAt).toEqual(sent.createdAt);
    expect(event.createdAt).toBe(event.createdAt);
    expect(JSON.parse(JSON.stringify(event))).toEqual({
      channel: 'timed',
      seq: 1,
      type: 't',
      json: '1',
      createdAt: sent.createdAt.toISOString(),
    });
    const [latest] = (await store.readLatest('timed', undefined, 1)).events;
    expect(latest.createdAt).toEqual(sent.createdAt);
    const [record] = (await stream.events.getEvents('timed')).events;
    expect(record.createdAt).toEqual(sent.createdAt);
  });

  it('signals a position beyond the head, and refuses malformed positions', async () => {
    await stream.events.sendEvent('short', 't', 1);
    const ahead = stream.events.getEvents('short', { after: 5 });
    await expect(ahead).rejects.toThrow(EventPositionAheadError);
    await expect(ahead).rejects.toMatchObject({ requestedSeq: 5, headSeq: 1 });
    await expect(stream.events.getEvents('never-written', { after: 1 })).rejects.toThrow(
      EventPositionAheadError,
    );
    await expect(stream.events.getEvents('short', { after: -1 })).rejects.toThrow(
      InvalidPositionError,
    );
    await expect(stream.events.getEvents('short', { after: 1.5 })).rejects.toThrow(
      InvalidPositionError,
    );
    await expect(stream.events.getEvents('short', { limit: 0 })).rejects.toThrow(RangeError);
  });

  it('gives the current id of one channel or the composite id of several', async () => {
    await stream.events.sendEvents([
      { channel: 'cur-a', type: 't', data: 1 },
      { channel: 'cur-a', type: 't', data: 2 },
      { channel: 'cur/b', type: 't', data: 3 },
    ]);
    expect(await stream.events.getCurrentEventId('cur-a')).toBe('cur-a:2');
    expect(await stream.events.getCurrentEventId(['cur-a', 'cur/b', 'cur-none'])).toBe(
      'cur-a:2,cur%2Fb:1,cur-none:0',
    );
    await expect(stream.events.getCurrentEventId([])).rejects.toThrow(InvalidChannelError);
  });
});
