import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { startChatApp, type RunningChat } from './chat-app.js';
import {
  freePort,
  pushpinInstalled,
  startPushpin,
  type RunningPushpin,
} from './pushpin.js';
import { SseReader } from './sse-reader.js';

/**
 * docker-compose.yml's topology on loopback: the app in GRIP mode behind
 * Debian's Pushpin, configured by the same deploy/pushpin/configure.sh.
 * Every request goes through Pushpin, which holds the streams.
 */
describe.skipIf(!pushpinInstalled())('behind Pushpin (GRIP mode)', () => {
  let pushpin: RunningPushpin;
  let chat: RunningChat;
  const readers: SseReader[] = [];

  const stream = async (query: string, headers: Record<string, string>) => {
    const reader = await SseReader.open(
      `${pushpin.url}/events?${query}`,
      headers,
    );
    readers.push(reader);
    return reader;
  };
  const post = (path: string, token: string, body: unknown = {}) =>
    fetch(`${pushpin.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
  const login = async (name: string): Promise<string> => {
    const response = await fetch(`${pushpin.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    const appPort = await freePort();
    pushpin = await startPushpin(appPort, randomBytes(24).toString('hex'));
    chat = await startChatApp(inject('adminDatabaseUrl'), {
      port: appPort,
      gripUrl: pushpin.gripUrl,
    });
    // Pushpin answers held streams with 500 until its handler has connected
    // to its proxy: ready once it holds one.
    const token = await waitFor(() => login('ready'));
    await waitFor(async () => {
      const reader = await stream('channel=user-ready', bearer(token));
      if (reader.status !== 200) throw new Error(`status ${reader.status}`);
    });
  });

  afterEach(() => readers.splice(0).forEach((r) => r.close()));

  afterAll(async () => {
    await chat?.close();
    await pushpin?.stop();
  });

  it('holds streams through Pushpin and refuses ones that bypass it', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    expect((await stream('channel=user-alice', bearer(alice))).status).toBe(
      200,
    );
    expect((await stream('channel=user-alice', bearer(bob))).status).toBe(403);
    // Straight to the app, without Pushpin's signature: refused.
    const direct = await SseReader.open(
      `${chat.base}/events?channel=user-alice`,
      bearer(alice),
    );
    direct.close();
    expect(direct.status).toBe(403);
  });

  it('publishes a message committed with its row, and replays from Last-Event-ID', async () => {
    const alice = await login('alice');
    expect((await post('/rooms/lobby/join', alice)).status).toBe(204);
    const live = await stream('channel=room-lobby', bearer(alice));
    expect(live.status).toBe(200);

    const response = await post('/rooms/lobby/messages', alice, {
      text: 'via pushpin',
    });
    const { eventId } = (await response.json()) as { eventId: string };
    await live.until((r) => r.appEvents().some((e) => e.id === eventId));
    expect(live.appEvents().find((e) => e.id === eventId)?.type).toBe(
      'message',
    );

    const seq = Number(eventId.split(':')[1]);
    const resumed = await stream('channel=room-lobby', {
      ...bearer(alice),
      'last-event-id': `room-lobby:${seq - 1}`,
    });
    await resumed.until((r) => r.appEvents().length > 0);
    expect(resumed.appEvents()[0]).toMatchObject({
      type: 'message',
      id: eventId,
    });
  });

  it('ends a held stream when its user leaves the room', async () => {
    const carol = await login('carol');
    await post('/rooms/lobby/join', carol);
    const reader = await stream('channel=room-lobby', bearer(carol));
    expect(reader.status).toBe(200);
    await reader.until((r) => r.events.some((e) => e.type === 'stream-open'));

    expect((await post('/rooms/lobby/leave', carol)).status).toBe(204);
    await reader.until((r) =>
      r.appEvents().some((e) => e.type === 'stream-error'),
    );
    const error = reader.appEvents().find((e) => e.type === 'stream-error');
    expect(JSON.parse(error?.data ?? '')).toMatchObject({
      condition: 'forbidden',
    });
    expect((await stream('channel=room-lobby', bearer(carol))).status).toBe(
      403,
    );
  });
});

async function waitFor<T>(
  attempt: () => Promise<T>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
