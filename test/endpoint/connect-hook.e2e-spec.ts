import type { StreamConnectContext, StreamConnectHook } from '../../src/eventstream';
import { PLATFORMS, startHttpApp, type HttpApp, type Platform } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { TcpProxy } from '../harness/tcp-proxy';
import { userFromHeader } from '../harness/test-user';

interface User {
  readonly id: string;
}

/** Sends the current state of a document, kept by the app, to each client as it connects. */
class DocumentState implements StreamConnectHook<User, { headers: Record<string, unknown> }> {
  readonly seen: StreamConnectContext<User, unknown>[] = [];
  text = 'draft';

  onConnect(context: StreamConnectContext<User, { headers: Record<string, unknown> }>) {
    this.seen.push(context);
    if (context.request.headers['x-fail'] === 'throw') throw new Error('state store down');
    if (context.request.headers['x-fail'] === 'reserved') {
      return [{ type: 'stream-reset', data: null }];
    }
    return [
      { type: 'state', data: { text: this.text, for: context.user?.id ?? null } },
      { type: 'unread', data: 3 },
    ];
  }
}

describe.each(PLATFORMS)('the onConnect hook on %s', (platform: Platform) => {
  let db: TestDatabase;
  let app: HttpApp;
  const state = new DocumentState();
  const clients: SseRecorder[] = [];
  const record = (url: string, headers?: Record<string, string>) => {
    const client = new SseRecorder(url, { headers, eventTypes: ['state', 'unread', 'edit'] });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startHttpApp({
      platform,
      options: {
        databaseUrl: db.url,
        onConnect: state,
        resolveUser: userFromHeader,
      },
    });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('sends its events first, without ids, then the replay and live events', async () => {
    await app.events.sendEvent('doc', 'edit', 1);
    await app.events.sendEvent('doc', 'edit', 2);
    const response = await fetch(app.streamUrl('channel=doc&lastEventId=doc:1'), {
      headers: { 'x-user': 'ann' },
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: edit')) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const frames = text.split('\n\n').filter((frame) => frame.startsWith('event:'));
    expect(frames.slice(0, 4)).toEqual([
      'event: stream-open\ndata: ',
      'event: state\ndata: {"text":"draft","for":"ann"}',
      'event: unread\ndata: 3',
      'event: edit\nid: doc:2\ndata: 2',
    ]);
    expect(state.seen.at(-1)).toMatchObject({
      channels: ['doc'],
      user: { id: 'ann' },
      lastEventId: 'doc:1',
    });
  });

  it('never moves the client’s position: a reconnect resumes from the last stored event', async () => {
    const proxy = await TcpProxy.start({
      host: '127.0.0.1',
      port: Number(new URL(app.baseUrl).port),
    });
    try {
      const client = record(`http://127.0.0.1:${proxy.port}/events?channel=note`);
      await client.until((c) => c.opens === 1 && c.events('unread').length === 1);
      await app.events.sendEvent('note', 'edit', 'a');
      await client.until((c) => c.events('edit').length === 1);
      state.text = 'edited';
      proxy.dropConnections();
      await client.until((c) => c.opens === 2 && c.events('unread').length === 2);
      // The client came back with the id of the last stored event it saw.
      expect(state.seen.at(-1)?.lastEventId).toBe('note:1');
      await app.events.sendEvent('note', 'edit', 'b');
      await client.until((c) => c.events('edit').length === 2);
      expect(client.events('state').map((e) => JSON.parse(e.data) as unknown)).toEqual([
        { text: 'draft', for: null },
        { text: 'edited', for: null },
      ]);
      expect(client.events('edit').map((e) => e.id)).toEqual(['note:1', 'note:2']);
    } finally {
      state.text = 'draft';
      await proxy.stop();
    }
  });

  it('answers 500 when the hook throws, and refuses reserved event types the same way', async () => {
    for (const failure of ['throw', 'reserved']) {
      const response = await fetch(app.streamUrl('channel=doc'), {
        headers: { 'x-fail': failure },
      });
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ statusCode: 500, error: 'internal-error' });
    }
    const fine = await fetch(app.streamUrl('channel=doc'));
    expect(fine.status).toBe(200);
    await fine.body?.cancel();
  });
});
