import { Type } from 'class-transformer';
import { IsDefined, IsInt, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { Client } from 'pg';
import { EventStreamService, InvalidEventDataError } from '../../src/eventstream';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';

class Author {
  @IsString()
  @MaxLength(40)
  name!: string;
}

class MessagePayload {
  @IsString()
  @MaxLength(500)
  text!: string;

  @IsOptional()
  @IsInt()
  replyTo?: number;

  // class-validator skips nested checks of a missing value: IsDefined requires it.
  @IsDefined()
  @ValidateNested()
  @Type(() => Author)
  author!: Author;
}

interface ChatEvents {
  message: MessagePayload;
  typing: { userId: string };
}

/** Run-time checks of payloads with class-validator classes registered per event type. */
describe('event payloads checked at run time', () => {
  let db: TestDatabase;
  let instance: EventStreamInstance;
  let events: EventStreamService<ChatEvents>;
  // What a caller without the compile-time map (e.g. plain JavaScript) can send.
  const untyped = () => instance.events;

  beforeAll(async () => {
    db = await createTestDatabase();
    instance = await startEventStream({
      databaseUrl: db.url,
      eventPayloads: { message: MessagePayload },
    });
    // As an app injects it: `constructor(events: EventStreamService<ChatEvents>)`.
    events = instance.app.get(EventStreamService);
  });
  afterAll(async () => {
    await instance?.close();
    await db?.drop();
  });

  const refusal = async (send: () => Promise<unknown>) => {
    const error = await send().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(InvalidEventDataError);
    return (error as Error).message;
  };

  it('stores data that matches the class, as it was given', async () => {
    const sent = await events.sendEvent('room-1', 'message', {
      text: 'hi',
      author: { name: 'Ann' },
    });
    expect(sent.data).toEqual({ text: 'hi', author: { name: 'Ann' } });
    expect((await events.getEvents('room-1')).events.map((e) => e.data)).toEqual([
      { text: 'hi', author: { name: 'Ann' } },
    ]);
  });

  it('names every problem, nested ones by path, and stores nothing', async () => {
    const message = await refusal(() =>
      untyped().sendEvent('room-2', 'message', {
        text: 'x'.repeat(501),
        replyTo: 1.5,
        author: { name: 7 },
        extra: true,
      }),
    );
    expect(message).toContain('data of "message" events does not match MessagePayload');
    expect(message).toContain('text must be shorter than or equal to 500 characters');
    expect(message).toContain('replyTo must be an integer number');
    expect(message).toContain('author.name must be a string');
    expect(message).toContain('property extra should not exist');
    expect(await events.getCurrentSeq('room-2')).toBe(0);
  });

  it('refuses __proto__ keys, which the class would never see, at any depth', async () => {
    const data = JSON.parse(
      '{"text":"hi","author":{"name":"Ann","__proto__":{"admin":true}}}',
    ) as unknown;
    expect(await refusal(() => untyped().sendEvent('room-5', 'message', data))).toContain(
      'property author.__proto__ should not exist',
    );
    expect(await events.getCurrentSeq('room-5')).toBe(0);
  });

  it('refuses data that is not an object for a type with a class', async () => {
    expect(await refusal(() => untyped().sendEvent('room-2', 'message', 'hi'))).toMatch(
      /must be an object matching MessagePayload/,
    );
    expect(await refusal(() => untyped().sendEvent('room-2', 'message', [1]))).toMatch(
      /must be an object/,
    );
  });

  it('refuses a whole batch with one bad event, and leaves types without a class alone', async () => {
    await refusal(() =>
      untyped().sendEvents([
        { channel: 'room-3', type: 'typing', data: { userId: 'u' } },
        { channel: 'room-3', type: 'message', data: { text: 'no author' } },
      ]),
    );
    expect(await events.getCurrentSeq('room-3')).toBe(0);
    const [typing] = await events.sendEvents([
      { channel: 'room-3', type: 'typing', data: { userId: 'u' } },
    ]);
    expect(typing.seq).toBe(1);
  });

  it('checks before writing in the app’s transaction too', async () => {
    const connection = new Client({ connectionString: db.url });
    await connection.connect();
    try {
      await connection.query('BEGIN');
      await refusal(() =>
        untyped().sendEvent('room-4', 'message', { text: 1 }, { transaction: connection }),
      );
      // The transaction is untouched: the app can go on and commit.
      await connection.query('SELECT 1');
      await connection.query('COMMIT');
    } finally {
      await connection.end();
    }
    expect(await events.getCurrentSeq('room-4')).toBe(0);
  });
});
