import type { NestExpressApplication } from '@nestjs/platform-express';
import { EventStreamService } from 'nestjs-eventstream';
import { inject } from 'vitest';
import { PrismaService } from '../src/database/prisma.service.js';
import { RoomsService } from '../src/rooms/rooms.service.js';
import { startChatApp, type RunningChat } from './chat-app.js';
import { SseReader } from './sse-reader.js';

class Rollback extends Error {}

interface SignedIn {
  readonly token: string;
  /** The `Cookie` header a browser would send back. */
  readonly cookie: string;
}

/**
 * The whole app (test/chat-app.ts) on a real Postgres and a real socket;
 * streams are read raw over HTTP, so the test sees what the server wrote.
 */
describe('chat', () => {
  let chat: RunningChat;
  let app: NestExpressApplication;
  let base: string;
  const readers: SseReader[] = [];

  const stream = async (
    query: string,
    headers: Record<string, string> = {},
  ) => {
    const reader = await SseReader.open(`${base}/events?${query}`, headers);
    readers.push(reader);
    return reader;
  };
  const post = (path: string, token: string, body: unknown = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
  const login = async (name: string): Promise<SignedIn> => {
    const response = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(response.status).toBe(200);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const { token } = (await response.json()) as { token: string };
    return { token, cookie: setCookie.split(';')[0] };
  };
  const messages = (reader: SseReader) =>
    reader.appEvents().filter((e) => e.type === 'message');

  beforeAll(async () => {
    chat = await startChatApp(inject('adminDatabaseUrl'));
    ({ app, base } = chat);
  });

  afterEach(() => readers.splice(0).forEach((r) => r.close()));

  afterAll(() => chat?.close());

  it('serves the page and the library’s browser client', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(
      '<script type="module" src="/chat.js">',
    );
    const client = await fetch(`${base}/events/client/index.js`);
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/javascript/);
    expect(await client.text()).toContain('createEventStream');
  });

  it('lets only a user read their own channel', async () => {
    const alice = await login('alice');
    const bob = await login('bob');

    expect((await stream('channel=user-alice')).status).toBe(401);
    expect(
      (await stream('channel=user-alice', { cookie: bob.cookie })).status,
    ).toBe(403);
    expect(
      (
        await stream('channel=user-alice', {
          authorization: `Bearer ${bob.token}`,
        })
      ).status,
    ).toBe(403);
    // A token signed with another key is no session at all.
    const forged =
      alice.token.slice(0, alice.token.lastIndexOf('.') + 1) + 'x'.repeat(43);
    expect(
      (
        await stream('channel=user-alice', {
          authorization: `Bearer ${forged}`,
        })
      ).status,
    ).toBe(401);

    const own = await stream('channel=user-alice', { cookie: alice.cookie });
    expect(own.status).toBe(200);
    expect((await post('/rooms/lobby/join', alice.token)).status).toBe(204);
    await own.until((r) => r.appEvents().length === 1);
    expect(own.appEvents()[0]).toMatchObject({
      type: 'notice',
      id: 'user-alice:1',
    });
  });

  it('sends a message in the transaction that saves it, live and on resume', async () => {
    const alice = await login('alice');
    await post('/rooms/lobby/join', alice.token);
    const bob = await login('bob');
    // Not a member yet: may neither read nor post.
    expect(
      (await stream('channel=room-lobby', { cookie: bob.cookie })).status,
    ).toBe(403);
    expect(
      (await post('/rooms/lobby/messages', bob.token, { text: 'hi' })).status,
    ).toBe(403);
    expect((await post('/rooms/lobby/join', bob.token)).status).toBe(204);

    const live = await stream('channel=room-lobby', { cookie: bob.cookie });
    expect(live.status).toBe(200);
    const response = await post('/rooms/lobby/messages', alice.token, {
      text: 'hello',
    });
    expect(response.status).toBe(201);
    const { eventId, message } = (await response.json()) as {
      eventId: string;
      message: { id: number };
    };
    await live.until((r) => messages(r).length === 1);
    expect(messages(live)[0].id).toBe(eventId);
    expect(JSON.parse(messages(live)[0].data)).toMatchObject({
      id: message.id,
      author: 'alice',
      text: 'hello',
    });
    const row = await app
      .get(PrismaService)
      .message.findUnique({ where: { id: message.id } });
    expect(row).toMatchObject({
      room: 'lobby',
      author: 'alice',
      text: 'hello',
    });

    // Resume after the event before it: exactly the message, then live ones.
    const seq = Number(eventId.split(':')[1]);
    const resumed = await stream('channel=room-lobby', {
      cookie: bob.cookie,
      'last-event-id': `room-lobby:${seq - 1}`,
    });
    await resumed.until((r) => messages(r).length === 1);
    expect(messages(resumed).map((e) => e.id)).toEqual([eventId]);
    const second = await post('/rooms/lobby/messages', alice.token, {
      text: 'again',
    });
    const secondId = ((await second.json()) as { eventId: string }).eventId;
    await resumed.until((r) => messages(r).length === 2);
    expect(messages(resumed).map((e) => e.id)).toEqual([eventId, secondId]);
    expect(secondId).toBe(`room-lobby:${seq + 1}`);
  });

  it('sends nothing for a rolled-back transaction, and leaves no gap', async () => {
    const alice = await login('alice');
    await post('/rooms/lobby/join', alice.token);
    const events = app.get<EventStreamService>(EventStreamService);
    const prisma = app.get(PrismaService);
    const rooms = app.get(RoomsService);
    const before = await events.getCurrentSeq('room-lobby');
    const reader = await stream('channel=room-lobby', {
      cookie: alice.cookie,
      'last-event-id': `room-lobby:${before}`,
    });

    // The app's own code path, in a transaction that then fails.
    await expect(
      prisma.$transaction(async (tx) => {
        const event = await rooms.saveMessage(
          tx,
          { id: 'alice' },
          'lobby',
          'never sent',
        );
        expect(event.id).toBe(`room-lobby:${before + 1}`);
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);

    expect(await events.getCurrentSeq('room-lobby')).toBe(before);
    expect(await prisma.message.count({ where: { text: 'never sent' } })).toBe(
      0,
    );
    const response = await post('/rooms/lobby/messages', alice.token, {
      text: 'sent',
    });
    const { eventId } = (await response.json()) as { eventId: string };
    expect(eventId).toBe(`room-lobby:${before + 1}`); // the rolled-back seq, reused
    await reader.until((r) => messages(r).length === 1);
    expect(
      messages(reader).map((e) => JSON.parse(e.data) as { text: string }),
    ).toMatchObject([{ text: 'sent' }]);
  });

  it('ends a user’s room streams when they leave the room', async () => {
    const carol = await login('carol');
    await post('/rooms/lobby/join', carol.token);
    const reader = await stream('channel=room-lobby&channel=user-carol', {
      cookie: carol.cookie,
    });
    expect(reader.status).toBe(200);
    await reader.until((r) => r.events.some((e) => e.type === 'stream-open'));

    expect((await post('/rooms/lobby/leave', carol.token)).status).toBe(204);
    // The library asked the authorizer again and ended the stream, which
    // still read the room. Events committed just before may or may not have
    // reached it first: the revocation does not wait for them.
    await reader.until((r) => r.ended);
    const last = reader.appEvents().at(-1);
    expect(last?.type).toBe('stream-error');
    expect(JSON.parse(last?.data ?? '')).toMatchObject({
      condition: 'forbidden',
    });
    expect(
      (await stream('channel=room-lobby', { cookie: carol.cookie })).status,
    ).toBe(403);
    // Her own channel she still reads, with the notice of the leave.
    const own = await stream('channel=user-carol', {
      cookie: carol.cookie,
      'last-event-id': 'user-carol:0',
    });
    expect(own.status).toBe(200);
    await own.until((r) =>
      r.appEvents().some((e) => e.data.includes('You left lobby')),
    );
  });
});
