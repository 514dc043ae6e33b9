import {
  type CanActivate,
  Controller,
  ForbiddenException,
  NotFoundException,
  Param,
  ParseIntPipe,
  Query,
  UseGuards,
} from '@nestjs/common';
import { EventEmitter, once } from 'node:events';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, map, Observable } from 'rxjs';
import {
  EventStreamRoute,
  LastEventId,
  StreamSignal,
  type StreamEvent,
} from '../../src/eventstream';
import { AppStreams } from '../../src/eventstream/app-streams/app-streams';
import { PLATFORMS, startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';

/** What the app code saw, for the tests to assert on. */
const probe = {
  finallyRan: 0,
  waitsAborted: 0,
  floodUnsubscribed: 0,
  ranBehindGuard: 0,
  unsubscribed: 0,
  lastEventIds: [] as (string | undefined)[],
  persistedIds: [] as (string | undefined)[],
  gate: deferred(),
  jobGate: deferred(),
  jobStep: deferred(),
};

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

@Controller()
class ClockController {
  // The README's ticker, as it is printed there.
  @EventStreamRoute('clock')
  clock() {
    return interval(1000).pipe(map(() => ({ type: 'time', data: new Date().toISOString() })));
  }
}

class DenyAll implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Controller('streams')
class StreamsController {
  @EventStreamRoute('waiting')
  async *waiting(@StreamSignal() signal: AbortSignal): AsyncGenerator<StreamEvent> {
    yield { type: 'ok', data: 'first' };
    try {
      // Waits for something that never comes: return() alone could not end this.
      await once(new EventEmitter(), 'never', { signal });
    } catch (error) {
      if ((error as Error).name === 'AbortError') probe.waitsAborted++;
    }
  }

  @EventStreamRoute('guarded')
  @UseGuards(DenyAll)
  async *guarded(): AsyncGenerator<StreamEvent> {
    probe.ranBehindGuard++;
    yield await Promise.resolve({ data: 'secret' });
  }

  @EventStreamRoute('from')
  async *from(@Query('n', ParseIntPipe) n: number): AsyncGenerator<StreamEvent> {
    yield await Promise.resolve({ data: n });
  }

  @EventStreamRoute('counter')
  async *counter(@LastEventId() lastEventId?: string): AsyncGenerator<StreamEvent> {
    probe.lastEventIds.push(lastEventId);
    let n = lastEventId === undefined ? 0 : Number(lastEventId);
    try {
      for (;;) {
        n++;
        yield { type: 'count', id: String(n), data: { n } };
        await sleep(50);
      }
    } finally {
      probe.finallyRan++;
    }
  }

  @EventStreamRoute('resumable')
  async *resumable(@LastEventId() lastEventId?: string): AsyncGenerator<StreamEvent> {
    probe.lastEventIds.push(lastEventId);
    const from = lastEventId === undefined ? 0 : Number(lastEventId);
    // Two events a connection, then the response ends and the client
    // reconnects after `retry` ms with the last id it saw.
    yield { type: 'count', id: String(from + 1), data: from + 1, retry: 50 };
    await sleep(1);
    yield { type: 'count', id: String(from + 2), data: from + 2 };
  }

  @EventStreamRoute('observable')
  observable(): Observable<StreamEvent> {
    return new Observable<StreamEvent>((subscriber) => {
      let n = 0;
      const timer = setInterval(() => subscriber.next({ data: ++n }), 50);
      return () => {
        clearInterval(timer);
        probe.unsubscribed++;
      };
    });
  }

  @EventStreamRoute('flood')
  flood(): Observable<StreamEvent> {
    const data = 'x'.repeat(60_000);
    return new Observable<StreamEvent>((subscriber) => {
      const timer = setInterval(() => subscriber.next({ data }), 1);
      return () => {
        clearInterval(timer);
        probe.floodUnsubscribed++;
      };
    });
  }

  @EventStreamRoute('finite')
  async *finite(): AsyncGenerator<StreamEvent> {
    await sleep(1);
    yield { type: 'step', data: 1, retry: 60_000 };
    yield { type: 'step', data: null };
  }

  @EventStreamRoute('invalid/:when/:kind')
  async *invalid(@Param('when') when: string, @Param('kind') kind: string) {
    await sleep(1);
    if (when === 'after') yield { type: 'ok', data: 'first' };
    const bad: Record<string, unknown> = {
      'type-newline': { type: 'x\nevent: injected', data: 1 },
      'id-newline': { id: '1\nevent: injected\ndata: {}', data: 1 },
      'reserved-type': { type: 'stream-error', data: 1 },
      'no-data': { type: 'x' },
      'error-id': { id: 'error', data: 1 },
      'a-string': 'hello',
    };
    yield bad[kind] as StreamEvent;
  }

  @EventStreamRoute('fail/:when')
  async *fail(@Param('when') when: string): AsyncGenerator<StreamEvent> {
    await sleep(1);
    if (when === 'early') throw new NotFoundException('No such feed');
    if (when === 'internal') throw new Error('database password is hunter2');
    yield { type: 'ok', data: 'first' };
    throw new Error('boom');
  }

  @EventStreamRoute('refused')
  refused(): AsyncIterable<StreamEvent> {
    throw new ForbiddenException('Not your feed');
  }

  @EventStreamRoute('gated')
  async *gated(): AsyncGenerator<StreamEvent> {
    await probe.gate.promise;
    yield { type: 'opened', data: 'late' };
  }

  @EventStreamRoute<{ params: { id: string } }>('jobs/:id', {
    persist: { channel: (request) => `job-${request.params.id}` },
  })
  async *job(@LastEventId() lastEventId?: string): AsyncGenerator<StreamEvent> {
    probe.persistedIds.push(lastEventId);
    yield { type: 'progress', data: { run: probe.persistedIds.length, step: 1 } };
    await probe.jobStep.promise;
    yield { type: 'progress', data: { run: probe.persistedIds.length, step: 2 } };
    await probe.jobGate.promise;
  }
}

describe.each(PLATFORMS)('streams from app code on %s', (platform) => {
  let db: TestDatabase;
  let server: HttpApp;
  const clients: SseRecorder[] = [];
  const connect = (path: string, headers?: Record<string, string>) => {
    const client = new SseRecorder(`${server.baseUrl}${path}`, {
      headers,
      eventTypes: ['time', 'count', 'step', 'ok', 'opened', 'progress', 'other'],
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    probe.gate = deferred();
    probe.jobGate = deferred();
    probe.jobStep = deferred();
    db = await createTestDatabase();
    server = await startHttpApp({
      platform,
      options: {
        databaseUrl: db.url,
        keepAliveMs: 300,
        cors: { origins: ['https://app.test'] },
        authorizer: { canReadChannel: (_user, channel) => channel !== 'job-secret' },
      },
      metadata: { controllers: [ClockController, StreamsController] },
    });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    probe.gate.resolve();
    probe.jobGate.resolve();
    probe.jobStep.resolve();
    await server?.close();
    await db?.drop();
  });

  it('serves the README ticker: our headers, stream-open, then an event every second', async () => {
    const response = await fetch(`${server.baseUrl}/clock`, {
      headers: { Origin: 'https://app.test' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.test');
    await response.body?.cancel();

    const client = connect('/clock');
    await client.until((c) => c.events('time').length >= 2);
    expect(client.received[0]).toEqual({ type: 'stream-open', id: '', data: '' });
    const [first, second] = client
      .events('time')
      .map((e) => Date.parse(JSON.parse(e.data) as string));
    expect(second).toBeGreaterThan(first);
  });

  it('writes events byte for byte in the wire format, and ends with the iterable', async () => {
    const response = await fetch(`${server.baseUrl}/streams/finite`);
    const text = await response.text();
    expect(text).toMatch(/^: {2048}\n\nevent: stream-open\ndata: \n\n/);
    expect(text.slice(text.indexOf('data: \n\n') + 8)).toBe(
      'retry: 60000\nevent: step\ndata: 1\n\nevent: step\ndata: null\n\n',
    );
  });

  it('calls return() on the iterator when the client leaves, so its finally block runs', async () => {
    const before = probe.finallyRan;
    const client = connect('/streams/counter');
    await client.until((c) => c.events('count').length >= 3);
    expect(client.events('count').slice(0, 3)).toEqual([
      { type: 'count', id: '1', data: '{"n":1}' },
      { type: 'count', id: '2', data: '{"n":2}' },
      { type: 'count', id: '3', data: '{"n":3}' },
    ]);
    client.close();
    await waitFor(() => probe.finallyRan === before + 1);
    await waitFor(() => server.app.get(AppStreams).size === 0);
  });

  it('aborts the StreamSignal when the client leaves, for a generator blocked in an await', async () => {
    const before = probe.waitsAborted;
    const client = connect('/streams/waiting');
    await client.until((c) => c.events('ok').length === 1);
    client.close();
    await waitFor(() => probe.waitsAborted === before + 1);
  });

  it("leaves the app's guards and pipes in charge of refusing requests", async () => {
    const guarded = await fetch(`${server.baseUrl}/streams/guarded`);
    expect(guarded.status).toBe(403);
    expect(probe.ranBehindGuard).toBe(0);
    const piped = await fetch(`${server.baseUrl}/streams/from?n=abc`);
    expect(piped.status).toBe(400);
    expect(await piped.json()).toEqual({
      statusCode: 400,
      error: 'bad-request',
      message: 'Validation failed (numeric string is expected)',
    });
    const fine = await fetch(`${server.baseUrl}/streams/from?n=42`);
    expect(fine.status).toBe(200);
    expect(await fine.text()).toMatch(/\n\ndata: 42\n\n$/);
  });

  it('unsubscribes from an Observable when the client leaves', async () => {
    const before = probe.unsubscribed;
    const client = connect('/streams/observable');
    await client.until((c) => c.events('message').length >= 2);
    expect(client.events('message')[0]).toEqual({ type: 'message', id: '', data: '1' });
    client.close();
    await waitFor(() => probe.unsubscribed === before + 1);
  });

  it('hands Last-Event-ID (header or query) to the method', async () => {
    probe.lastEventIds.length = 0;
    const byHeader = connect('/streams/counter', { 'Last-Event-ID': '41' });
    await byHeader.until((c) => c.events('count').length >= 1);
    expect(byHeader.events('count')[0].id).toBe('42');
    byHeader.close();
    const byQuery = connect('/streams/counter?lastEventId=7');
    await byQuery.until((c) => c.events('count').length >= 1);
    expect(byQuery.events('count')[0].id).toBe('8');
    expect(probe.lastEventIds).toEqual(['41', '7']);
  });

  it('an EventSource that reconnects resumes the method from the last id it saw', async () => {
    probe.lastEventIds.length = 0;
    const client = connect('/streams/resumable');
    await client.until((c) => c.events('count').length >= 6);
    client.close();
    expect(client.events('count').map((e) => [e.id, e.data])).toEqual(
      Array.from({ length: 6 }, (_, i) => [String(i + 1), String(i + 1)]).concat(
        client
          .events('count')
          .slice(6)
          .map((e) => [e.id, e.data]),
      ),
    );
    expect(probe.lastEventIds.slice(0, 3)).toEqual([undefined, '2', '4']);
    expect(client.opens).toBeGreaterThanOrEqual(3);
  });

  it('refuses a bad Last-Event-ID with a 400 before the method runs', async () => {
    probe.lastEventIds.length = 0;
    for (const [query, headers, message] of [
      ['', { 'Last-Event-ID': 'error' }, /id of an error/],
      ['?lastEventId=a%0Aevent:%20x', {}, /control characters/],
      [`?lastEventId=${'x'.repeat(12_289)}`, {}, /at most 12288/],
    ] as const) {
      const response = await fetch(`${server.baseUrl}/streams/counter${query}`, { headers });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('bad-request');
      expect(body.message).toMatch(message);
    }
    expect(probe.lastEventIds).toEqual([]);
  });

  describe('never lets a yielded value break framing', () => {
    const kinds = [
      'type-newline',
      'id-newline',
      'reserved-type',
      'no-data',
      'error-id',
      'a-string',
    ];

    it.each(kinds)('%s as the first event: a 500, nothing streamed', async (kind) => {
      const response = await fetch(`${server.baseUrl}/streams/invalid/first/${kind}`);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({
        statusCode: 500,
        error: 'internal-error',
        message: 'Internal error',
      });
    });

    it.each(kinds)('%s after an event: one stream-error, then the end', async (kind) => {
      const response = await fetch(`${server.baseUrl}/streams/invalid/after/${kind}`);
      expect(response.status).toBe(200);
      const text = await response.text();
      const frames = text.split('\n\n').slice(2, -1);
      expect(frames).toEqual([
        'event: ok\ndata: "first"',
        'event: stream-error\nid: error\ndata: {"condition":"internal-error","text":"Internal error"}',
      ]);
      expect(text).not.toContain('injected');
    });
  });

  describe('errors before the first event get a status', () => {
    it('an HttpException from the generator keeps its status and message', async () => {
      const response = await fetch(`${server.baseUrl}/streams/fail/early`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        statusCode: 404,
        error: 'not-found',
        message: 'No such feed',
      });
    });

    it('an HttpException thrown by the method itself', async () => {
      const response = await fetch(`${server.baseUrl}/streams/refused`);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden', message: 'Not your feed' });
    });

    it('any other error is a 500 that does not leak its message', async () => {
      const response = await fetch(`${server.baseUrl}/streams/fail/internal`);
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('hunter2');
    });

    it('an SSE client gets one stream-error event with the status, and does not retry', async () => {
      const response = await fetch(`${server.baseUrl}/streams/fail/early`, {
        headers: { Accept: 'text/event-stream' },
      });
      expect(response.status).toBe(404);
      expect(await response.text()).toBe(
        'event: stream-error\nid: error\ndata: {"condition":"not-found","text":"No such feed"}\n\n',
      );
      const client = connect('/streams/fail/early');
      await client.until((c) => c.errors.length > 0);
      expect(client.errors[0].status).toBe(404);
      expect(client.source.readyState).toBe(2); // CLOSED
    });
  });

  it('ends with a stream-error event when the iterator throws after the stream started', async () => {
    const client = connect('/streams/fail/late');
    await client.until((c) => c.events('stream-error').length === 1);
    expect(client.events()).toEqual([{ type: 'ok', id: '', data: '"first"' }]);
    expect(client.events('stream-error')[0]).toEqual({
      type: 'stream-error',
      id: 'error',
      data: '{"condition":"internal-error","text":"Internal error"}',
    });
  });

  it('opens the stream without waiting for a slow first event, and sends keep-alives', async () => {
    const client = connect('/streams/gated');
    await client.until((c) => c.opens === 1 && c.events('keep-alive').length >= 2);
    expect(client.events('opened')).toEqual([]);
    probe.gate.resolve();
    await client.until((c) => c.events('opened').length === 1);
    expect(client.events('keep-alive')[0]).toEqual({ type: 'keep-alive', id: '', data: '' });
  });

  it('persists events when asked, sends their stored ids, and replays what a client missed', async () => {
    probe.persistedIds.length = 0;
    const channel = `job-${platform}`;
    const first = connect(`/streams/jobs/${platform}`);
    await first.until((c) => c.events('progress').length === 1);
    // Another writer of the channel while the method is between two events:
    // its event reaches this client too, in seq order, so no id skips one.
    await server.events.sendEvent(channel, 'other', 'meanwhile');
    probe.jobStep.resolve();
    await first.until((c) => c.events().length === 3);
    expect(first.events()).toEqual([
      { type: 'progress', id: `${channel}:1`, data: '{"run":1,"step":1}' },
      { type: 'other', id: `${channel}:2`, data: '"meanwhile"' },
      { type: 'progress', id: `${channel}:3`, data: '{"run":1,"step":2}' },
    ]);
    first.close();
    const stored = await server.events.getEvents(channel);
    expect(stored.events.map((e) => [e.id, e.type, e.data])).toEqual([
      [`${channel}:1`, 'progress', { run: 1, step: 1 }],
      [`${channel}:2`, 'other', 'meanwhile'],
      [`${channel}:3`, 'progress', { run: 1, step: 2 }],
    ]);

    await server.events.sendEvent(channel, 'other', 'while away');
    const again = connect(`/streams/jobs/${platform}`, { 'Last-Event-ID': `${channel}:2` });
    await again.until((c) => c.events().length === 4);
    expect(again.events()).toEqual([
      { type: 'progress', id: `${channel}:3`, data: '{"run":1,"step":2}' },
      { type: 'other', id: `${channel}:4`, data: '"while away"' },
      { type: 'progress', id: `${channel}:5`, data: '{"run":2,"step":1}' },
      { type: 'progress', id: `${channel}:6`, data: '{"run":2,"step":2}' },
    ]);
    expect(probe.persistedIds).toEqual([undefined, `${channel}:2`]);
  });

  it('resets a persisted stream whose position is ahead of the channel', async () => {
    const channel = `job-ahead-${platform}`;
    await server.events.sendEvent(channel, 'other', 'one');
    const client = connect(`/streams/jobs/ahead-${platform}`, { 'Last-Event-ID': `${channel}:50` });
    // Both progress events may arrive in one chunk.
    await client.until((c) => c.events('progress').length >= 1);
    expect(client.events('stream-reset')).toEqual([
      { type: 'stream-reset', id: `${channel}:1`, data: JSON.stringify({ channels: [channel] }) },
    ]);
    expect(client.events('progress')[0].id).toBe(`${channel}:2`);
  });

  it("asks the module's authorizer about a persisted route's channel", async () => {
    const response = await fetch(`${server.baseUrl}/streams/jobs/secret`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
    expect(await server.events.getCurrentSeq('job-secret')).toBe(0);
  });

  it('drops a client that does not read an Observable that keeps emitting', async () => {
    const before = probe.floodUnsubscribed;
    const request = httpGet(`${server.baseUrl}/streams/flood`);
    let response: IncomingMessage | undefined;
    let closed = false;
    request.on('response', (received) => {
      response = received;
      received.pause(); // reads nothing
      received.on('close', () => (closed = true));
    });
    request.on('error', () => (closed = true));
    await waitFor(() => probe.floodUnsubscribed === before + 1, 30_000);
    expect(server.app.get(AppStreams).size).toBe(0);
    // Once it reads what its buffers hold, the client finds the connection closed.
    response?.resume();
    await waitFor(() => closed);
    request.destroy();
  });

  it('refuses a Last-Event-ID of another form on a persisted route', async () => {
    const response = await fetch(`${server.baseUrl}/streams/jobs/x`, {
      headers: { 'Last-Event-ID': 'job-x:one' },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad-request' });
  });

  it('ends open app streams on application shutdown', async () => {
    const other = await startHttpApp({
      platform,
      options: { databaseUrl: db.url },
      metadata: { controllers: [StreamsController] },
    });
    const before = probe.finallyRan;
    const client = new SseRecorder(`${other.baseUrl}/streams/counter`, { eventTypes: ['count'] });
    clients.push(client);
    await client.until((c) => c.events('count').length >= 1);
    // close() only resolves once the HTTP server has closed, which waits for
    // every open response: a stream left open would time this test out.
    await other.close();
    await client.until((c) => c.errors.length > 0);
    await waitFor(() => probe.finallyRan === before + 1);
  });
});
