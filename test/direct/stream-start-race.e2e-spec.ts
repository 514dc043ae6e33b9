import { EVENT_STORE, type EventStore } from '../../src/eventstream/storage';
import { StreamHub } from '../../src/eventstream/direct/stream-hub';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';

/**
 * A direct stream subscribes to the change feed, then reads the channels'
 * heads, then starts from the client's position. A commit heard in between
 * once started a pump from cursor 0 whose page was written after the
 * client's position was set: events the client had were sent again. This
 * holds the head read open to put a notification in that window every time.
 */
describe('a commit heard between subscribing and starting a stream', () => {
  let db: TestDatabase;
  let server: HttpApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startHttpApp({ options: { databaseUrl: db.url } });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('sends nothing twice on reconnect', async () => {
    for (let i = 1; i <= 3; i++) await server.events.sendEvent('window', 'n', i);
    const store = server.app.get<EventStore>(EVENT_STORE);
    const hub = server.app.get(StreamHub);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let heldHeads = false;
    const headSeqs = store.headSeqs.bind(store);
    jest.spyOn(store, 'headSeqs').mockImplementationOnce(async (channels) => {
      heldHeads = true;
      await gate;
      return headSeqs(channels);
    });
    const heard: number[] = [];
    const onHead = hub.onHead.bind(hub);
    jest.spyOn(hub, 'onHead').mockImplementation((channel, seq) => {
      if (channel === 'window') heard.push(seq);
      onHead(channel, seq);
    });

    // The client had events 1 and 2.
    const client = new SseRecorder(server.streamUrl('channel=window'), {
      headers: { 'Last-Event-ID': 'window:2' },
      eventTypes: ['n'],
    });
    try {
      await waitFor(() => heldHeads);
      await server.events.sendEvent('window', 'n', 4);
      // The stream is subscribed and hears the commit before it has started.
      await waitFor(() => heard.includes(4));
      release();
      await client.until((c) => c.events('n').length >= 2);
      await server.events.sendEvent('window', 'n', 5);
      await client.until((c) => c.events('n').some((e) => e.data === '5'));
      expect(client.events('n').map((e) => [e.id, e.data])).toEqual([
        ['window:3', '3'],
        ['window:4', '4'],
        ['window:5', '5'],
      ]);
    } finally {
      release();
      client.close();
      jest.restoreAllMocks();
    }
  });
});
