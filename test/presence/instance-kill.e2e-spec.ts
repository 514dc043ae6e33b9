import { join } from 'node:path';
import type { PresenceEventData } from '../../src/eventstream';
import {
  PRESENCE_HEARTBEAT_MS,
  PRESENCE_TTL_MS,
} from '../../src/eventstream/presence/presence-timing';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader } from '../harness/test-user';
import { waitFor } from '../harness/wait';

const INSTANCE = join(__dirname, '..', 'fixtures', 'presence-instance.mjs');
/** Scheduling slack on a loaded machine, on top of the bound the docs state. */
const SLACK_MS = 3_000;

/**
 * An instance (a process of its own) killed with SIGKILL while it holds
 * streams: it cannot say goodbye, so its share stops counting when its lease
 * runs out, and another instance announces its users' departures.
 */
describe('presence after an instance is killed', () => {
  let db: TestDatabase;
  let victim: ServerProcess;
  let survivor: HttpApp;
  const clients: SseRecorder[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    victim = await startServerProcess(
      { DATABASE_URL: db.url, PRESENCE_ANNOUNCE: 'lobby' },
      undefined,
      INSTANCE,
    );
    survivor = await startHttpApp({
      options: {
        databaseUrl: db.url,
        resolveUser: userFromHeader,
        presence: { announce: ['lobby'] },
      },
    });
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await victim?.stop();
    await survivor?.close();
    await db?.drop();
  });

  const open = async (baseUrl: string, user: string) => {
    const client = new SseRecorder(`${baseUrl}/events?channel=lobby`, {
      headers: { 'x-user': user },
    });
    clients.push(client);
    await client.until((c) => c.opens === 1);
    return client;
  };
  const announced = async () => {
    const { events } = await survivor.events.getEvents('lobby', { limit: 1000 });
    return events
      .filter((event) => event.type === 'presence')
      .map((event) => event.data as PresenceEventData);
  };

  it(`stops counting its streams within ${PRESENCE_TTL_MS / 1000} s, and its users leave once`, async () => {
    const doomed = [await open(victim.baseUrl, 'v1'), await open(victim.baseUrl, 'v2')];
    await open(survivor.baseUrl, 's1');
    await waitFor(async () => (await survivor.events.getPresence('lobby')).streams === 3);
    expect((await survivor.events.getPresence('lobby')).users).toEqual(['s1', 'v1', 'v2']);
    await waitFor(async () => (await announced()).length === 3);

    await victim.kill();
    const killedAt = Date.now();
    // Their clients would reconnect to the dead port forever.
    doomed.forEach((client) => client.close());
    // The lease outlives the process for a while: its rows still count.
    expect((await survivor.events.getPresence('lobby')).streams).toBe(3);

    await waitFor(
      async () => (await survivor.events.getPresence('lobby')).streams === 1,
      PRESENCE_TTL_MS + SLACK_MS,
    );
    expect(Date.now() - killedAt).toBeLessThanOrEqual(PRESENCE_TTL_MS + SLACK_MS);
    expect(await survivor.events.getPresence('lobby')).toEqual({
      channel: 'lobby',
      streams: 1,
      users: ['s1'],
    });
    // The survivor sweeps within a heartbeat of the expiry.
    await waitFor(async () => (await announced()).length === 5, PRESENCE_HEARTBEAT_MS + SLACK_MS);
    await new Promise((resolve) => setTimeout(resolve, 2 * PRESENCE_HEARTBEAT_MS));
    const events = await announced();
    expect(
      events
        .filter((e) => e.action === 'leave')
        .map((e) => e.user)
        .sort(),
    ).toEqual(['v1', 'v2']);
    expect(
      events
        .filter((e) => e.action === 'join')
        .map((e) => e.user)
        .sort(),
    ).toEqual(['s1', 'v1', 'v2']);
    // The dead instance's rows are gone, not only ignored.
    const rows = await db.query<{ count: string }>(
      'SELECT count(*) FROM eventstream.presence_streams',
    );
    expect(rows).toEqual([{ count: '1' }]);
  });
});
