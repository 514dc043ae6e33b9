import { PrismaPg } from '@prisma/adapter-pg';
import { Client, Pool } from 'pg';
import { EventStoreError } from '../../src/eventstream';
import { PrismaClient } from '../fixtures/app-prisma/generated/client';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';

class Rollback extends Error {}

/**
 * An app saves its own row and the event about it in one transaction, with
 * its own Prisma client (test/fixtures/app-prisma) or with `pg`, on the
 * database the module uses; its Prisma client also reads the library's tables.
 */
describe('sending events in the app’s transaction', () => {
  let db: TestDatabase;
  let app: HttpApp;
  let prisma: PrismaClient;
  let pool: Pool;
  let prismaPool: Pool;
  const clients: SseRecorder[] = [];
  const listen = async (channel: string) => {
    const client = new SseRecorder(app.streamUrl(`channel=${channel}`), { eventTypes: ['m'] });
    clients.push(client);
    await client.until((c) => c.opens === 1);
    return client;
  };
  const messages = (room: string) => prisma.chatMessage.findMany({ where: { room } });
  const storedSeqs = async (channel: string) =>
    (
      await db.query<{ seq: string }>(
        'SELECT seq FROM eventstream.events WHERE channel = $1 ORDER BY seq',
        [channel],
      )
    ).map(({ seq }) => Number(seq));
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query(
      'CREATE TABLE chat_messages (id serial PRIMARY KEY, room text NOT NULL, text text NOT NULL)',
    );
    app = await startHttpApp({ options: { databaseUrl: db.url } });
    // The app's Prisma on a pool of its own, ended before the database is
    // dropped (whose FORCE would otherwise kill its idle connections).
    prismaPool = new Pool({ connectionString: db.url, max: 4 });
    prisma = new PrismaClient({ adapter: new PrismaPg(prismaPool) });
    pool = new Pool({ connectionString: db.url, max: 8 });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await app?.close();
    await prisma?.$disconnect();
    await prismaPool?.end();
    await pool?.end();
    await db?.drop();
  });

  it('commits the app’s row and the event together, through a Prisma transaction', async () => {
    const client = await listen('prisma-room');
    const record = await prisma.$transaction(async (tx) => {
      const message = await tx.chatMessage.create({ data: { room: 'prisma-room', text: 'hi' } });
      return app.events.sendEvent(
        'prisma-room',
        'm',
        { id: message.id, text: message.text },
        {
          transaction: tx,
        },
      );
    });
    expect(record.id).toBe('prisma-room:1');
    await client.until((c) => c.events('m').length === 1);
    const [message] = await messages('prisma-room');
    expect(client.events('m')).toEqual([
      { type: 'm', id: 'prisma-room:1', data: JSON.stringify({ id: message.id, text: 'hi' }) },
    ]);
  });

  it('claims an idempotency key in a Prisma transaction, and delivers the event once', async () => {
    const client = await listen('prisma-once');
    const send = (tx?: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]) =>
      app.events.sendEvent(
        'prisma-once',
        'm',
        { text: 'once' },
        {
          transaction: tx,
          idempotencyKey: 'k-prisma-once',
        },
      );
    const first = await prisma.$transaction((tx) => send(tx));
    expect(await prisma.$transaction((tx) => send(tx))).toEqual(first);
    expect(await send()).toEqual(first);
    await app.events.sendEvent('prisma-once', 'm', 'after');
    await client.until((c) => c.events('m').length === 2);
    expect(client.events('m').map((e) => e.id)).toEqual(['prisma-once:1', 'prisma-once:2']);
    expect(await storedSeqs('prisma-once')).toEqual([1, 2]);
  });

  it('lets the app read the library’s tables through its own Prisma client', async () => {
    // The models docs/operations.md has the app copy: multi-schema, read-only.
    await app.events.sendEvents([
      { channel: 'read-room', type: 'm', data: { text: 'a' } },
      { channel: 'read-room', type: 'm', data: { text: 'b' } },
    ]);
    const [events, head] = await Promise.all([
      prisma.eventStreamEvent.findMany({
        where: { channel: 'read-room' },
        orderBy: { seq: 'asc' },
        select: { seq: true, type: true, data: true },
      }),
      prisma.eventStreamChannel.findUnique({ where: { name: 'read-room' } }),
    ]);
    expect(events).toEqual([
      { seq: 1n, type: 'm', data: { text: 'a' } },
      { seq: 2n, type: 'm', data: { text: 'b' } },
    ]);
    expect(head).toEqual({ name: 'read-room', lastSeq: 2n });
  });

  it('leaves neither the row nor the event, and no gap, when the Prisma transaction rolls back', async () => {
    const client = await listen('rolled');
    await app.events.sendEvent('rolled', 'm', 'before');
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.chatMessage.create({ data: { room: 'rolled', text: 'never' } });
        await app.events.sendEvent('rolled', 'm', 'never', { transaction: tx });
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    const after = await app.events.sendEvent('rolled', 'm', 'after');
    expect(after.seq).toBe(2);
    await client.until((c) => c.events('m').length === 2);
    expect(client.events('m').map((e) => [e.id, e.data])).toEqual([
      ['rolled:1', '"before"'],
      ['rolled:2', '"after"'],
    ]);
    expect(await messages('rolled')).toEqual([]);
    expect(await storedSeqs('rolled')).toEqual([1, 2]);
  });

  it('shows nothing to readers or streams before a pg transaction commits', async () => {
    const client = await listen('pending');
    const connection = new Client({ connectionString: db.url });
    await connection.connect();
    try {
      await connection.query('BEGIN');
      await connection.query("INSERT INTO chat_messages (room, text) VALUES ('pending', 'x')");
      const records = await app.events.sendEvents(
        [
          { channel: 'pending', type: 'm', data: 1 },
          { channel: 'pending', type: 'm', data: 2 },
        ],
        { transaction: connection },
      );
      expect(records.map((r) => r.id)).toEqual(['pending:1', 'pending:2']);
      // Another connection sees neither the events nor the head yet.
      expect(await app.events.getCurrentSeq('pending')).toBe(0);
      expect((await app.events.getEvents('pending')).events).toEqual([]);
      // A later send on the channel waits for the transaction's counter-row
      // lock; the stream has nothing to show until the commit.
      const later = app.events.sendEvent('pending', 'm', 3);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(client.events('m')).toEqual([]);
      await connection.query('COMMIT');
      expect((await later).seq).toBe(3);
      await client.until((c) => c.events('m').length === 3);
      expect(client.events('m').map((e) => e.id)).toEqual(['pending:1', 'pending:2', 'pending:3']);
    } finally {
      await connection.end();
    }
  });

  it('reaches open streams on commit alone, with no send after it', async () => {
    // Sends of the module's own are announced once they return; one in the
    // app's transaction can only be announced by Postgres, on commit.
    const client = await listen('alone');
    const connection = new Client({ connectionString: db.url });
    await connection.connect();
    try {
      await connection.query('BEGIN');
      await app.events.sendEvent('alone', 'm', 1, { transaction: connection });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(client.events('m')).toEqual([]);
      await connection.query('COMMIT');
      await client.until((c) => c.events('m').length === 1);
      expect(client.events('m').map((e) => e.id)).toEqual(['alone:1']);
    } finally {
      await connection.end();
    }
  });

  it('keeps a channel gapless and in order with concurrent transactions that commit or roll back', async () => {
    const client = await listen('busy');
    const committedTexts: string[] = [];
    const transactionally = async (i: number) => {
      const connection = await pool.connect();
      const text = `tx-${i}`;
      try {
        await connection.query('BEGIN');
        await connection.query('INSERT INTO chat_messages (room, text) VALUES ($1, $2)', [
          'busy',
          text,
        ]);
        await app.events.sendEvent('busy', 'm', text, { transaction: connection });
        if (i % 3 === 0) {
          await connection.query('ROLLBACK');
        } else {
          await connection.query('COMMIT');
          committedTexts.push(text);
        }
      } finally {
        connection.release();
      }
    };
    const plainly = async (i: number) => {
      const text = `plain-${i}`;
      await app.events.sendEvent('busy', 'm', text);
      committedTexts.push(text);
    };
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? transactionally(i) : plainly(i))),
    );
    const total = committedTexts.length;
    await client.until((c) => c.events('m').length === total);
    // Every committed event once, ids 1..total in order; nothing rolled back.
    expect(client.events('m').map((e) => e.id)).toEqual(range(total).map((i) => `busy:${i}`));
    expect(
      client
        .events('m')
        .map((e) => JSON.parse(e.data) as string)
        .sort(),
    ).toEqual([...committedTexts].sort());
    expect(await storedSeqs('busy')).toEqual(range(total));
    // The event exists if and only if the app's row does.
    const rows = (await messages('busy')).map((m) => m.text);
    expect(rows.sort()).toEqual(committedTexts.filter((t) => t.startsWith('tx-')).sort());
  });

  it('fails clearly when the app’s transaction is already aborted, and keeps serving', async () => {
    const connection = new Client({ connectionString: db.url });
    await connection.connect();
    try {
      await connection.query('BEGIN');
      await connection.query('SELECT 1/0').catch(() => undefined);
      const failed = await app.events
        .sendEvent('aborted', 'm', 1, { transaction: connection })
        .catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(EventStoreError);
      expect((failed as Error).message).toMatch(/current transaction is aborted/);
      await connection.query('ROLLBACK');
    } finally {
      await connection.end();
    }
    expect((await app.events.sendEvent('aborted', 'm', 2)).seq).toBe(1);
  });

  it('refuses something that is not a transaction client before writing anything', async () => {
    await expect(
      app.events.sendEvent('odd', 'm', 1, { transaction: {} as unknown as Client }),
    ).rejects.toThrow(/Prisma interactive-transaction client or a pg client/);
    // Both would commit the event at once, whatever the app's transaction does.
    await expect(app.events.sendEvent('odd', 'm', 1, { transaction: prisma })).rejects.toThrow(
      /not the PrismaClient itself/,
    );
    await expect(app.events.sendEvent('odd', 'm', 1, { transaction: pool })).rejects.toThrow(
      /not the pool itself/,
    );
    expect(await app.events.getCurrentSeq('odd')).toBe(0);
  });
});
