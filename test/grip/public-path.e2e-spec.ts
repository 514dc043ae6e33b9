import { startGripApp, type BehindPushpin } from '../harness/grip-app';
import type { HttpApp } from '../harness/http-app';
import type { RunningPushpin } from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';

/** Pushpin serves the app under /stream/ and strips that prefix before passing requests on. */
describe('GRIP next links behind a route that rewrites paths', () => {
  let pushpin: RunningPushpin;
  let app: HttpApp;
  const nextLinkPaths: string[] = [];
  let client: SseRecorder | undefined;
  let stack: BehindPushpin<HttpApp>;

  beforeAll(async () => {
    stack = await startGripApp({
      pushpin: { pathPrefix: '/stream' },
      options: { replayPageSize: 20 },
      grip: { publicPath: '/stream/events' },
      configure: (nest) =>
        nest.use((request: { url?: string }, _: unknown, next: () => void) => {
          if (request.url?.includes('link=next')) nextLinkPaths.push(request.url.split('?')[0]);
          next();
        }),
    });
    ({ pushpin, app } = stack);
  });
  afterAll(async () => {
    client?.close();
    await stack?.stop();
  });

  it('continues a replay of several pages and goes live through the public path', async () => {
    // About 150 kB: more than one GRIP response (64 kB) holds.
    const padding = 'x'.repeat(1_000);
    await app.events.sendEvents(
      Array.from({ length: 150 }, (_, i) => ({
        channel: 'routed',
        type: 'n',
        data: { i: i + 1, padding },
      })),
    );
    client = new SseRecorder(`${pushpin.url}/stream/events?channel=routed&lastEventId=routed:0`, {
      eventTypes: ['n'],
    });
    await client.until((c) => c.events('n').length === 150);
    await app.events.sendEvent('routed', 'n', { i: 151 });
    await client.until((c) => c.events('n').length === 151);
    expect(client.events('n').map((e) => (JSON.parse(e.data) as { i: number }).i)).toEqual(
      Array.from({ length: 151 }, (_, i) => i + 1),
    );
    // The replay needed next links, and they came back through the route.
    expect(nextLinkPaths.length).toBeGreaterThanOrEqual(2);
    expect(new Set(nextLinkPaths)).toEqual(new Set(['/events']));
  });
});
