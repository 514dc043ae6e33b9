import { startGripApp, type BehindPushpin } from '../harness/grip-app';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import type { TestDatabase } from '../harness/postgres';
import type { RunningPushpin } from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';

/**
 * Pushpin lets one connection subscribe to `connection_subscription_max`
 * channels (20 in its stock config); a stream over that got 200 and never an
 * event. A held stream subscribes to its channels plus its user's two.
 */
describe('streams of many channels through a real Pushpin', () => {
  const SUBSCRIPTION_MAX = 40;
  let db: TestDatabase;
  let pushpin: RunningPushpin;
  let app: HttpApp;
  const clients: SseRecorder[] = [];
  let stack: BehindPushpin<HttpApp>;

  beforeAll(async () => {
    stack = await startGripApp({
      pushpin: { settings: { connection_subscription_max: SUBSCRIPTION_MAX } },
      options: {
        maxChannelsPerStream: SUBSCRIPTION_MAX - 2,
        // A known user: the stream also holds the user's revocation and link channels.
        resolveUser: () => ({ id: 'reader' }),
      },
      grip: { connectionSubscriptionMax: SUBSCRIPTION_MAX },
    });
    ({ db, pushpin, app } = stack);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => stack?.stop());

  it('will not start with more channels per stream than the proxy lets a connection hold', async () => {
    await expect(
      startHttpApp({
        options: { databaseUrl: db.url, maxChannelsPerStream: 30, grip: { url: pushpin.gripUrl } },
      }),
    ).rejects.toThrow(
      /maxChannelsPerStream: at most 18 with grip, .*connection_subscription_max is 20/,
    );
  });

  it.each([10, 30])('delivers live events on every one of %i channels', async (count) => {
    const channels = Array.from({ length: count }, (_, i) => `many${count}-${i}`);
    const query = channels.map((c) => `channel=${c}`).join('&');
    const client = new SseRecorder(`${pushpin.url}/events?${query}`, { eventTypes: ['n'] });
    clients.push(client);
    await client.until((c) => c.opens === 1);
    expect(app.hub.size).toBe(0);
    for (const channel of [channels[0], channels[count - 1]]) {
      await app.events.sendEvent(channel, 'n', channel);
    }
    await client.until((c) => c.events('n').length === 2);
    expect(client.events('n').map((e) => e.data)).toEqual([
      JSON.stringify(channels[0]),
      JSON.stringify(channels[count - 1]),
    ]);
  });
});
