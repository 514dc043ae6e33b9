import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import type { AddressInfo } from 'node:net';
import { EventStreamModule, EventStreamService } from '../../src/eventstream';
import { EVENT_STORE, type EventStore, type NewEvent } from '../../src/eventstream/storage';
import { pushpinChannel } from '../../src/eventstream/grip/grip-names';
import { GripPublisher } from '../../src/eventstream/grip/grip-publisher';
import { EventDatabase } from '../../src/eventstream/storage/postgres/event-database';
import { PostgresEventStore } from '../../src/eventstream/storage/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { waitFor } from '../harness/wait';

interface PublishedItem {
  readonly channel: string;
  readonly id: string;
  readonly 'prev-id': string;
}

/** The Postgres store, but the next append's answer can be held back after it commits. */
class HoldingStore {
  private hold: { committed: () => void; release: Promise<void> } | undefined;
  readonly store: EventStore;

  constructor(inner: EventStore) {
    this.store = {
      append: async (events: readonly NewEvent[]) => {
        const hold = this.hold;
        this.hold = undefined;
        const appended = await inner.append(events);
        if (hold) {
          hold.committed();
          await hold.release;
        }
        return appended;
      },
      appendOnce: (...args) => inner.appendOnce(...args),
      read: (...args) => inner.read(...args),
      readLatest: (...args) => inner.readLatest(...args),
      headSeqs: (channels) => inner.headSeqs(channels),
      trim: (policy) => inner.trim(policy),
      ping: () => inner.ping(),
    };
  }

  /** Holds the next append's answer; resolves `committed` once it is committed. */
  holdNext(): { committed: Promise<void>; release: () => void } {
    let release!: () => void;
    let committed!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const done = new Promise<void>((resolve) => (committed = resolve));
    this.hold = { committed, release: released };
    return { committed: done, release };
  }
}

describe('GRIP publishing order', () => {
  let db: TestDatabase;
  let proxy: Server;
  let app: INestApplication;
  let holding: HoldingStore;
  const published: PublishedItem[] = [];
  /** Each publish request's items, as it arrived. */
  const requests: PublishedItem[][] = [];
  /** While set, the stand-in answers no publish until it is released. */
  let held: (() => void)[] | undefined;
  const registry = new Registry();

  beforeAll(async () => {
    db = await createTestDatabase();
    // Stands in for the proxy's publish API, to see what reaches it and in which order.
    proxy = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.method === 'POST') {
          const { items } = JSON.parse(body) as { items: PublishedItem[] };
          published.push(...items);
          requests.push(items);
        }
        if (held && request.method === 'POST') {
          held.push(() => {
            if (!response.writableEnded) response.end('ok');
          });
        } else response.end('ok');
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventStreamModule.forRoot({
          databaseUrl: db.url,
          migrate: true,
          retention: false,
          path: false,
          grip: {
            url: `http://127.0.0.1:${port}/?iss=pushpin&key=order-test-0123456789abcdefghijklmnopqrstuv`,
          },
          metrics: { registry },
        }),
      ],
    })
      .overrideProvider(EVENT_STORE)
      .useFactory({
        factory: (database: EventDatabase) => {
          holding = new HoldingStore(new PostgresEventStore(database));
          return holding.store;
        },
        inject: [EventDatabase],
      })
      .compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => proxy?.close(resolve));
    await db?.drop();
  });

  it('publishes a channel in commit order when an earlier append returns last', async () => {
    const events = app.get(EventStreamService);
    const first = holding.holdNext();
    const slow = events.sendEvent('ordered', 'n', 1);
    await first.committed;
    for (let i = 2; i <= 5; i++) await events.sendEvent('ordered', 'n', i);
    // Another channel is not held back by this one.
    await events.sendEvent('other', 'n', 1);
    await waitFor(() => published.some((item) => item.channel === pushpinChannel('other')));
    first.release();
    expect((await slow).seq).toBe(1);
    await waitFor(
      () => published.filter((item) => item.channel === pushpinChannel('ordered')).length === 5,
    );
    expect(
      published
        .filter((item) => item.channel === pushpinChannel('ordered'))
        .map((item) => [item['prev-id'], item.id]),
    ).toEqual([
      ['0', '1'],
      ['1', '2'],
      ['2', '3'],
      ['3', '4'],
      ['4', '5'],
    ]);
    // Each successful publish request is timed, per proxy.
    const { port } = proxy.address() as AddressInfo;
    const timed = (await registry.getSingleMetricAsString('eventstream_publish_duration_seconds'))
      .split('\n')
      .find((line) => line.startsWith('eventstream_publish_duration_seconds_count'));
    expect(timed).toMatch(new RegExp(`proxy="http://127.0.0.1:${port}"} [1-9]`));
  });

  /** Holds the stand-in's answers while `run` runs; answers them all in the end, whatever happens. */
  const holdingAnswers = async (run: (answers: (() => void)[]) => Promise<void>) => {
    const answers: (() => void)[] = [];
    held = answers;
    try {
      await run(answers);
    } finally {
      held = undefined;
      answers.forEach((answer) => answer());
    }
  };
  const idsOf = (channel: string) => (items: readonly PublishedItem[]) =>
    items.filter((item) => item.channel === pushpinChannel(channel)).map((item) => item.id);
  const requestsOf = (channel: string) =>
    requests.map(idsOf(channel)).filter((ids) => ids.length > 0);
  const quietly = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('keeps up to four publish requests in flight, and sends what queues up meanwhile together', async () => {
    const events = app.get(EventStreamService);
    await holdingAnswers(async (answers) => {
      for (let i = 1; i <= 7; i++) await events.sendEvent('overlap', 'n', i);
      await waitFor(() => answers.length === 4);
      // The fifth request waits for an answer to one of the four.
      await quietly();
      expect(answers).toHaveLength(4);
    });
    await waitFor(() => idsOf('overlap')(published).length === 7);
    const sent = requestsOf('overlap');
    // The first four, each alone, may reach the stand-in in any order.
    expect(sent.slice(0, 4).sort()).toEqual([['1'], ['2'], ['3'], ['4']]);
    expect(sent.slice(4)).toEqual([['5', '6', '7']]);
  });

  it('publishes the events of one call in one request', async () => {
    const events = app.get(EventStreamService);
    await events.sendEvents([1, 2, 3].map((data) => ({ channel: 'together', type: 'n', data })));
    await waitFor(() => idsOf('together')(published).length === 3);
    expect(requestsOf('together')).toEqual([['1', '2', '3']]);
  });

  it('lets nothing queued after a revocation leave before it has landed', async () => {
    const events = app.get(EventStreamService);
    const publisher = app.get(GripPublisher);
    const revocations = () =>
      requests.filter((items) => items.some((item) => item.channel.startsWith('user-'))).length;
    const before = revocations();
    await holdingAnswers(async (answers) => {
      await events.sendEvent('barred', 'n', 1);
      await waitFor(() => answers.length === 1);
      const revoked = publisher.revoke('someone', 'barred', 'revoked');
      await waitFor(() => answers.length === 2);
      expect(revocations()).toBe(before + 1);
      await events.sendEvent('barred', 'n', 2);
      // Event 2 waits for the revocation's answer, not for event 1's.
      await quietly();
      expect(requestsOf('barred')).toEqual([['1']]);
      answers[1]();
      await revoked;
      await waitFor(() => requestsOf('barred').length === 2);
      expect(requestsOf('barred')).toEqual([['1'], ['2']]);
    });
  });
});
