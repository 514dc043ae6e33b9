import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { startGripApp, type BehindPushpin } from '../harness/grip-app';
import type { HttpApp } from '../harness/http-app';
import type { RunningPushpin } from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';
import { userFromHeader } from '../harness/test-user';

/**
 * Pushpin shares one next-link request among the sessions whose calls have
 * the same path and `Grip-Last` headers (its "auto-share": the query, where
 * our link token is, does not count), and gives every one of them the reply.
 * When the app is slow to answer, as when thousands of clients reconnect at
 * once, the recovery calls of different users' streams on one channel are
 * in flight together.
 */
describe('GRIP recovery calls of several users at once', () => {
  const denied = new Set<string>();
  let pushpin: RunningPushpin;
  let app: HttpApp;
  /** The user of each next-link call that reached the app, once answered. */
  const answered: string[] = [];
  let inFlight = 0;
  const clients: SseRecorder[] = [];
  let stack: BehindPushpin<HttpApp>;

  beforeAll(async () => {
    stack = await startGripApp({
      options: {
        resolveUser: userFromHeader,
        authorizer: {
          canReadChannel: (user: { id: string } | undefined, channel: string) =>
            !denied.has(`${user?.id}/${channel}`),
        },
      },
      // Next links answered slowly, as by a busy app: Pushpin's recovery
      // calls for the four streams overlap.
      configure: (nest: INestApplication) =>
        nest.use(
          (
            request: { url?: string },
            response: { once(event: 'finish', listener: () => void): void },
            next: () => void,
          ) => {
            const url = new URL(request.url ?? '/', 'http://x');
            if (url.searchParams.get('link') !== 'next') return next();
            const user = String(decodeJwt(url.searchParams.get('es-meta') ?? '').u);
            inFlight++;
            response.once('finish', () => {
              inFlight--;
              answered.push(user);
            });
            setTimeout(next, 600);
          },
        ),
    });
    ({ pushpin, app } = stack);
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await stack?.stop();
  });

  it("gives each user's stream a reply made for that user, so revocation reaches the right streams", async () => {
    const users = ['u1', 'u2', 'u3', 'u4'];
    for (const user of users) {
      clients.push(
        new SseRecorder(`${pushpin.url}/events?channel=room`, {
          headers: { 'x-user': user },
          eventTypes: ['n'],
        }),
      );
    }
    await Promise.all(clients.map((client) => client.until((c) => c.opens === 1)));
    // A second after a channel's first subscription, Pushpin calls the next
    // link of every stream on it: one call per user must reach the app.
    await waitFor(
      () => users.every((user) => answered.includes(user)) && inFlight === 0,
      10_000,
    ).catch(() => {
      throw new Error(`Not every user's recovery call reached the app: ${answered.join(', ')}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));

    denied.add('u1/room');
    await app.events.channelPermissionChanged('u1', 'room');
    const [revoked, ...others] = clients;
    await revoked.until((c) => c.events('stream-error').length === 1);
    await app.events.sendEvent('room', 'n', 'after');
    await Promise.all(others.map((client) => client.until((c) => c.events('n').length === 1)));
    for (const client of others) expect(client.events('stream-error')).toEqual([]);
    expect(revoked.events('n')).toEqual([]);
  });
});
