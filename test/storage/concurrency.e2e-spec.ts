import type { EventInput } from '../../src/eventstream';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, withClient, type TestDatabase } from '../harness/postgres';

const CHANNELS = ['hot-1', 'hot-2', 'hot-3'];
const WRITERS_PER_POOL = 5;
const SENDS_PER_WRITER = 300;

describe('concurrent writers', () => {
  let db: TestDatabase;
  let pools: EventStreamInstance[];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Two application instances, each with its own connection pool.
    pools = [
      await startEventStream({ databaseUrl: db.url, poolSize: 5 }),
      await startEventStream({ databaseUrl: db.url, poolSize: 5 }),
    ];
  });
  afterAll(async () => {
    await Promise.all((pools ?? []).map((p) => p.close()));
    await db?.drop();
  });

  it('keeps every channel gapless and committed in seq order', async () => {
    let writing = true;
    const acknowledged = new Map(CHANNELS.map((c) => [c, new Set<number>()]));

    // Each writer mixes single sends with batches that span channels, so
    // batches take several counter-row locks at once.
    const writer = async (instance: EventStreamInstance, writerId: number) => {
      for (let i = 0; i < SENDS_PER_WRITER; i++) {
        const channel = CHANNELS[(writerId + i) % CHANNELS.length];
        const records =
          i % 10 === 0
            ? await instance.events.sendEvents(
                [...CHANNELS].reverse().map((c): EventInput => ({
                  channel: c,
                  type: 'batch',
                  data: { writerId, i },
                })),
              )
            : [await instance.events.sendEvent(channel, 'single', { writerId, i })];
        for (const record of records) acknowledged.get(record.channel)!.add(record.seq);
      }
    };

    // Tails each channel on its own connection, straight from the table, and
    // fails on any gap: if a writer could commit seq n after another had
    // committed n + 1, some read would see n + 1 without n.
    const tailer = (channel: string) =>
      withClient(db.url, async (client) => {
        let cursor = 0;
        let reads = 0;
        for (;;) {
          const finished = !writing;
          const { rows } = await client.query<{ seq: string }>(
            'SELECT seq FROM eventstream.events WHERE channel = $1 AND seq > $2 ORDER BY seq',
            [channel, cursor],
          );
          for (const row of rows) {
            const seq = Number(row.seq);
            if (seq !== cursor + 1) {
              throw new Error(`${channel}: saw seq ${seq} right after ${cursor}`);
            }
            cursor = seq;
          }
          reads++;
          if (finished) return { cursor, reads };
        }
      });

    // The library's own reader, paging with the cursor it returns.
    const libraryTailer = async (channel: string) => {
      let cursor = 0;
      for (;;) {
        const finished = !writing;
        const page = await pools[0].events.getEvents(channel, { after: cursor, limit: 200 });
        page.events.forEach((event, index) => expect(event.seq).toBe(cursor + index + 1));
        cursor = page.cursor;
        if (finished && !page.hasMore) return cursor;
      }
    };

    const tails = CHANNELS.map(tailer);
    const libraryTails = CHANNELS.map(libraryTailer);
    await Promise.all(
      pools.flatMap((instance) =>
        Array.from({ length: WRITERS_PER_POOL }, (_, w) =>
          writer(instance, w + pools.indexOf(instance) * WRITERS_PER_POOL),
        ),
      ),
    ).finally(() => {
      writing = false;
    });
    const tailResults = await Promise.all(tails);
    const libraryCursors = await Promise.all(libraryTails);

    const total = [...acknowledged.values()].reduce((sum, seqs) => sum + seqs.size, 0);
    const writers = WRITERS_PER_POOL * pools.length;
    const batches = writers * Math.ceil(SENDS_PER_WRITER / 10);
    expect(total).toBe(writers * SENDS_PER_WRITER - batches + batches * CHANNELS.length);
    for (const [index, channel] of CHANNELS.entries()) {
      const seqs = acknowledged.get(channel)!;
      // Every acknowledged seq is distinct and they form 1..n exactly.
      expect(Math.min(...seqs)).toBe(1);
      expect(Math.max(...seqs)).toBe(seqs.size);
      expect(tailResults[index].cursor).toBe(seqs.size);
      expect(tailResults[index].reads).toBeGreaterThan(1);
      expect(libraryCursors[index]).toBe(seqs.size);
      expect(await pools[1].events.getCurrentSeq(channel)).toBe(seqs.size);
    }
  });
});
