import { Controller, ForbiddenException, Get, Req, Res } from '@nestjs/common';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import {
  EventStreamResponder,
  type ChannelAccess,
  type ChannelAuthorizer,
} from '../../src/eventstream';
import { PLATFORMS, startHttpApp, type HttpApp, type Platform } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader, type TestUser as User } from '../harness/test-user';
import { waitFor } from '../harness/wait';

type Decide = (
  user: User | undefined,
  channel: string,
  request: unknown,
) => ChannelAccess | Promise<ChannelAccess>;

interface AuthorizerCall {
  readonly user: User | undefined;
  readonly channel: string;
  readonly request: unknown;
}

const headersOf = (request: unknown) =>
  (request as { headers?: IncomingHttpHeaders }).headers ?? {};

/** One stream-error frame, exactly as the wire format defines it. */
const errorFrame = (condition: string) =>
  new RegExp(
    `^event: stream-error\\nid: error\\ndata: \\{"condition":"${condition}","text":".+"\\}\\n\\n$`,
  );

describe.each(PLATFORMS)('authorization of GET /events on %s', (platform: Platform) => {
  let db: TestDatabase;
  let server: HttpApp;
  const extraApps: HttpApp[] = [];
  const clients: SseRecorder[] = [];
  const requests: AbortController[] = [];
  /** fetch, with the response cut in afterEach should a test stop before reading it. */
  const get = (url: string, init: RequestInit = {}) => {
    const controller = new AbortController();
    requests.push(controller);
    return fetch(url, { ...init, signal: controller.signal });
  };

  // One authorizer object for every app of the suite; each test sets its rule.
  let decide: Decide;
  const calls: AuthorizerCall[] = [];
  const authorizer: ChannelAuthorizer<User, unknown> = {
    canReadChannel(user, channel, request) {
      calls.push({ user, channel, request });
      return decide(user, channel, request);
    },
  };
  const options = () => ({ databaseUrl: db.url, authorizer, resolveUser: userFromHeader });
  const askedFor = (channel: string) => calls.filter((c) => c.channel === channel);

  const record = (url: string, user?: string, headers: Record<string, string> = {}) => {
    const client = new SseRecorder(url, {
      headers: user ? { ...headers, 'x-user': user } : headers,
      eventTypes: ['msg'],
    });
    clients.push(client);
    return client;
  };
  const connect = (query: string, user?: string, headers?: Record<string, string>) =>
    record(server.streamUrl(query), user, headers);
  const payloads = (client: SseRecorder) => client.events('msg').map((e) => e.data);
  const streamErrors = (client: SseRecorder) =>
    client.events('stream-error').map((e) => ({
      id: e.id,
      data: JSON.parse(e.data) as { condition: string; text: string },
    }));
  /** The connection ended: `eventsource` reports it as an error without a status. */
  const ended = (client: SseRecorder) => client.errors.some((e) => e.status === undefined);

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startHttpApp({ platform, options: options() });
  });
  beforeEach(() => {
    calls.length = 0;
    decide = () => true;
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    requests.splice(0).forEach((r) => r.abort());
    await Promise.all(extraApps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('lets an allowed client receive events, asking with the user and the platform request', async () => {
    decide = (user, channel) => user !== undefined && channel === 'open';
    const client = connect('channel=open', 'u1');
    await client.until((c) => c.opens === 1);
    await server.events.sendEvent('open', 'msg', { n: 1 });
    await client.until((c) => c.events('msg').length === 1);
    expect(client.events('msg')).toEqual([{ type: 'msg', id: 'open:1', data: '{"n":1}' }]);

    const [call] = askedFor('open');
    expect(call.user).toEqual({ id: 'u1' });
    // The request as controllers get it, with its headers at hand.
    expect(headersOf(call.request)['x-user']).toBe('u1');
    if (platform === 'fastify') expect(call.request).toHaveProperty('raw');
  });

  describe('refuses a denied channel before streaming', () => {
    beforeEach(() => {
      decide = (user, channel) => user !== undefined && channel === 'open';
    });

    it('with 403 and a JSON body when there is a user', async () => {
      const response = await get(server.streamUrl('channel=secret'), {
        headers: { 'x-user': 'u1' },
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({
        statusCode: 403,
        error: 'forbidden',
        message: expect.stringContaining('secret') as unknown,
      });
      expect(askedFor('secret')[0].user).toEqual({ id: 'u1' });
    });

    it('with 401 when there is no user', async () => {
      const response = await get(server.streamUrl('channel=secret'));
      expect(response.status).toBe(401);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({
        statusCode: 401,
        error: 'unauthorized',
        message: expect.stringContaining('secret') as unknown,
      });
      expect(askedFor('secret')[0].user).toBeUndefined();
    });

    it('with one stream-error event for an SSE client, which then stops', async () => {
      for (const [user, status, condition] of [
        ['u1', 403, 'forbidden'],
        [undefined, 401, 'unauthorized'],
      ] as const) {
        const response = await get(server.streamUrl('channel=secret'), {
          headers: { Accept: 'text/event-stream', ...(user ? { 'x-user': user } : {}) },
        });
        expect(response.status).toBe(status);
        expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(await response.text()).toMatch(errorFrame(condition));
      }

      // A real EventSource sees the status and does not retry.
      const client = connect('channel=secret', 'u1');
      await client.until((c) => c.errors.length > 0);
      expect(client.errors).toEqual([expect.objectContaining({ status: 403 })]);
      expect(client.source.readyState).toBe(2); // CLOSED
      expect(client.opens).toBe(0);
    });
  });

  it('asks for every channel of a stream and refuses all of it when one is denied', async () => {
    decide = (user, channel) => user !== undefined && channel.startsWith('multi-open');
    await server.events.sendEvent('multi-open', 'msg', 'must not leak');

    // The allowed channel comes first and has an event to replay.
    const response = await get(server.streamUrl('channel=multi-open&channel=multi-secret'), {
      headers: { Accept: 'text/event-stream', 'x-user': 'u1', 'Last-Event-ID': 'multi-open:0' },
    });
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).toMatch(errorFrame('forbidden'));
    expect(body).toContain('multi-secret');
    expect(body).not.toContain('must not leak');
    expect(body).not.toContain('stream-open');
    expect(calls.map((c) => c.channel).sort()).toEqual(['multi-open', 'multi-secret']);

    // Every channel is asked about when all are allowed, too.
    calls.length = 0;
    const client = connect('channel=multi-open&channel=multi-open-2&channel=multi-open-3', 'u1');
    await client.until((c) => c.opens === 1);
    expect(calls.map((c) => c.channel).sort()).toEqual([
      'multi-open',
      'multi-open-2',
      'multi-open-3',
    ]);
  });

  it('waits for an async authorizer, both to allow and to deny', async () => {
    decide = async (user, channel) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return user?.id === 'u1' && channel === 'async';
    };
    const client = connect('channel=async', 'u1');
    await client.until((c) => c.opens === 1);
    await server.events.sendEvent('async', 'msg', 'hi');
    await client.until((c) => c.events('msg').length === 1);
    expect(payloads(client)).toEqual(['"hi"']);

    const denied = await get(server.streamUrl('channel=async'), { headers: { 'x-user': 'u2' } });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: string }).error).toBe('forbidden');
  });

  it('ends a stream whose access expires with a forbidden stream-error', async () => {
    let grantedUntil: number | undefined;
    decide = () => {
      if (grantedUntil === undefined) {
        // Long enough for the stream to open and take one event on a loaded
        // machine (at 300 ms it sometimes expired before the event came).
        grantedUntil = Date.now() + 1_500;
        return { allowed: true, expiresAt: new Date(grantedUntil) };
      }
      return Date.now() < grantedUntil;
    };
    const client = connect('channel=expiring', 'u1');
    await client.until((c) => c.opens === 1);
    await server.events.sendEvent('expiring', 'msg', 'before expiry');
    await client.until((c) => c.events('stream-error').length === 1);
    const erroredAt = Date.now();
    expect(erroredAt).toBeGreaterThanOrEqual(grantedUntil!);
    expect(payloads(client)).toEqual(['"before expiry"']);
    expect(streamErrors(client)).toEqual([
      { id: 'error', data: { condition: 'forbidden', text: expect.any(String) as unknown } },
    ]);
    await client.until(ended);

    // The client reconnects by itself and is refused for good. It resumes
    // from the id of the stream-error, `error`, which the wire format refuses
    // as a position (400) before the authorizer is asked.
    await client.until((c) => c.errors.some((e) => e.status !== undefined));
    expect(client.errors.filter((e) => e.status !== undefined)).toEqual([
      expect.objectContaining({ status: 400 }),
    ]);
    expect(client.source.readyState).toBe(2); // CLOSED
    expect(client.opens).toBe(1);
    expect(payloads(client)).toEqual(['"before expiry"']);

    // Connecting anew, the authorizer is asked again and now says no.
    const again = connect('channel=expiring', 'u1');
    await again.until((c) => c.errors.length > 0);
    expect(again.errors).toEqual([expect.objectContaining({ status: 403 })]);
    expect(askedFor('expiring')).toHaveLength(2);
  });

  describe('closes streams whose permission was revoked, and only those', () => {
    it.each([
      ['the user id', 'u1', 'room-a'],
      ['the user object', { id: 'u1' }, 'room-b'],
    ])('given %s', async (_, who, room) => {
      const denied = new Set<string>();
      decide = (user, channel) => user !== undefined && !denied.has(`${user.id}/${channel}`);
      const u1 = connect(`channel=${room}`, 'u1');
      const u2 = connect(`channel=${room}`, 'u2');
      const u1Elsewhere = connect(`channel=${room}-other`, 'u1');
      for (const client of [u1, u2, u1Elsewhere]) await client.until((c) => c.opens === 1);

      // Still allowed: asking again changes nothing.
      await server.events.channelPermissionChanged(who, room);
      await server.events.sendEvent(room, 'msg', 1);
      await u1.until((c) => c.events('msg').length === 1);
      await u2.until((c) => c.events('msg').length === 1);

      denied.add(`u1/${room}`);
      await server.events.channelPermissionChanged(who, room);
      await u1.until((c) => c.events('stream-error').length === 1 && ended(c));
      expect(streamErrors(u1)).toEqual([
        {
          id: 'error',
          data: { condition: 'forbidden', text: expect.stringContaining(room) as unknown },
        },
      ]);
      u1.close();

      await server.events.sendEvent(room, 'msg', 2);
      await server.events.sendEvent(`${room}-other`, 'msg', 'elsewhere');
      await u2.until((c) => c.events('msg').length === 2);
      await u1Elsewhere.until((c) => c.events('msg').length === 1);
      expect(payloads(u2)).toEqual(['1', '2']);
      expect(payloads(u1Elsewhere)).toEqual(['"elsewhere"']);
      expect(payloads(u1)).toEqual(['1']);
      for (const client of [u2, u1Elsewhere]) {
        expect(client.events('stream-error')).toEqual([]);
        expect(client.errors).toEqual([]);
      }
    });
  });

  it('closes a revoked stream on another instance, through Postgres', async () => {
    const instanceB = await startHttpApp({ platform, options: options() });
    extraApps.push(instanceB);
    const denied = new Set<string>();
    decide = (user, channel) => user !== undefined && !denied.has(`${user.id}/${channel}`);
    const u1 = record(instanceB.streamUrl('channel=far'), 'u1');
    const u2 = record(instanceB.streamUrl('channel=far'), 'u2');
    await u1.until((c) => c.opens === 1);
    await u2.until((c) => c.opens === 1);

    denied.add('u1/far');
    await server.events.channelPermissionChanged('u1', 'far');
    await u1.until((c) => c.events('stream-error').length === 1 && ended(c));
    expect(streamErrors(u1)[0].data.condition).toBe('forbidden');
    u1.close();

    await server.events.sendEvent('far', 'msg', 'still here');
    await u2.until((c) => c.events('msg').length === 1);
    expect(u2.events('stream-error')).toEqual([]);
  });

  it('asks the authorizer once for each stream when a permission changes', async () => {
    const instanceB = await startHttpApp({ platform, options: options() });
    extraApps.push(instanceB);
    decide = (user) => user !== undefined;
    const here = connect('channel=once', 'u1');
    const there = record(instanceB.streamUrl('channel=once'), 'u1');
    await here.until((c) => c.opens === 1);
    await there.until((c) => c.opens === 1);
    const before = askedFor('once').length;

    await server.events.channelPermissionChanged('u1', 'once');
    // The other instance hears of it through Postgres; this one would hear
    // its own notice back at about the same moment, and must not ask again.
    await waitFor(() => askedFor('once').length >= before + 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(askedFor('once')).toHaveLength(before + 2);
  });

  it('leaves nothing behind when the client leaves while the authorizer decides', async () => {
    await waitFor(() => server.hub.size === 0);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let decided = false;
    decide = async () => {
      await gate;
      decided = true;
      return true;
    };
    const serverSockets: Socket[] = [];
    const onConnection = (socket: Socket) => serverSockets.push(socket);
    const httpServer = server.app.getHttpServer() as Server;
    httpServer.on('connection', onConnection);
    try {
      const request = httpRequest(server.streamUrl('channel=slow'), {
        headers: { 'x-user': 'u1' },
        agent: false, // a connection of its own, not a kept-alive one
      });
      request.on('error', () => undefined);
      request.end();
      await waitFor(() => askedFor('slow').length === 1);

      const ours = serverSockets.find((s) => s.remotePort === request.socket?.localPort);
      expect(ours).toBeDefined();
      const serverSawClose = new Promise((resolve) => ours!.once('close', resolve));
      request.destroy();
      await serverSawClose;

      release();
      await waitFor(() => decided);
      // Let the responder go on past the authorizer, then watch the hub.
      const until = Date.now() + 300;
      while (Date.now() < until) {
        expect(server.hub.size).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      release();
      httpServer.off('connection', onConnection);
    }

    // The route still serves the same channel normally.
    const client = connect('channel=slow', 'u1');
    await client.until((c) => c.opens === 1);
    expect(server.hub.size).toBe(1);
  });

  describe('on a route of the app', () => {
    @Controller('me')
    class MyEventsController {
      constructor(private readonly responder: EventStreamResponder) {}

      @Get('events')
      async stream(@Req() request: object, @Res() response: object): Promise<void> {
        const userId = headersOf(request)['x-user'];
        if (typeof userId !== 'string' || userId === '') {
          throw new ForbiddenException('Sign in to read your events');
        }
        await this.responder.serve(request, response, { channels: [`user-${userId}`] });
      }
    }

    let custom: HttpApp;
    beforeAll(async () => {
      custom = await startHttpApp({
        platform,
        options: options(),
        path: false,
        metadata: { controllers: [MyEventsController] },
      });
    });
    afterAll(() => custom?.close());

    it('streams only the channel the route decides, and has no built-in route', async () => {
      const builtIn = await get(custom.streamUrl('channel=user-u1'));
      expect(builtIn.status).toBe(404);
      await builtIn.body?.cancel();

      const url = `${custom.baseUrl}/me/events`;
      const u1 = record(url, 'u1');
      // Channels named in the query do not widen what the route decided.
      const u2 = record(`${url}?channel=user-u1&channels=user-u1`, 'u2');
      await u1.until((c) => c.opens === 1);
      await u2.until((c) => c.opens === 1);
      await custom.events.sendEvent('user-u1', 'msg', 'for u1');
      await custom.events.sendEvent('user-u2', 'msg', 'for u2');
      await custom.events.sendEvent('user-u1', 'msg', 'for u1 again');
      await u1.until((c) => c.events('msg').length === 2);
      await u2.until((c) => c.events('msg').length === 1);
      expect(u1.events('msg').map((e) => [e.id, e.data])).toEqual([
        ['user-u1:1', '"for u1"'],
        ['user-u1:2', '"for u1 again"'],
      ]);
      expect(u2.events('msg').map((e) => [e.id, e.data])).toEqual([['user-u2:1', '"for u2"']]);
      // The module's authorizer still has its say on the app's route.
      expect(calls.map((c) => c.channel).sort()).toEqual(['user-u1', 'user-u2']);
    });

    it('can refuse with its own 403 before serving', async () => {
      const response = await get(`${custom.baseUrl}/me/events`);
      expect(response.status).toBe(403);
      const body = (await response.json()) as { statusCode: number; message: string };
      expect(body).toMatchObject({ statusCode: 403, message: 'Sign in to read your events' });
      expect(calls).toEqual([]);
      expect(custom.hub.size).toBe(0);
    });
  });
});
