import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createTestDatabase } from '../harness/postgres';
import { serverOnOwnDatabase } from '../harness/server-suite';
import { startServerProcess } from '../harness/server-process';
import { SseRecorder } from '../harness/sse-client';

const KEY = 'test-publish-key-0123456789';

describe('the bundled server', () => {
  const suite = serverOnOwnDatabase({ EVENTSTREAM_PUBLISH_KEY: KEY });
  const publish = (body: unknown, init: RequestInit = {}) =>
    fetch(`${suite.server.baseUrl}/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });

  it('prints where it listens, the mode and its endpoints', () => {
    expect(suite.server.output()).toMatch(/Listening on http:\/\/127\.0\.0\.1:\d+ in direct mode/);
    expect(suite.server.output()).toContain('/events?channel=NAME');
    expect(suite.server.output()).toContain('POST');
  });

  it('streams what is published over HTTP, one event or a batch', async () => {
    const client = new SseRecorder(`${suite.server.baseUrl}/events?channel=news`, {
      eventTypes: ['story'],
    });
    try {
      await client.until((c) => c.opens === 1);
      const one = await publish({ channel: 'news', type: 'story', data: { title: 'first' } });
      expect(one.status).toBe(201);
      expect(await one.json()).toEqual({ ids: ['news:1'] });
      const batch = await publish({
        events: [
          { channel: 'news', type: 'story', data: 'second' },
          { channel: 'other', type: 'story', data: null },
        ],
      });
      expect(await batch.json()).toEqual({ ids: ['news:2', 'other:1'] });
      await client.until((c) => c.events('story').length === 2);
      expect(client.events('story')).toEqual([
        { type: 'story', id: 'news:1', data: '{"title":"first"}' },
        { type: 'story', id: 'news:2', data: '"second"' },
      ]);
    } finally {
      client.close();
    }
  });

  it('refuses a missing or wrong key with 401', async () => {
    const body = { channel: 'news', type: 'story', data: 1 };
    expect((await publish(body, { headers: { 'Content-Type': 'application/json' } })).status).toBe(
      401,
    );
    const wrong = await publish(body, {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}x` },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ statusCode: 401, message: /publish key/ });
  });

  it('answers an invalid body with 400 and every problem', async () => {
    const missing = await publish({ channel: 5, extra: true });
    expect(missing.status).toBe(400);
    const { message } = (await missing.json()) as { message: string[] };
    expect(message).toEqual(
      expect.arrayContaining([
        'channel must be a string',
        'type must be a string',
        'data is required (null is fine)',
        'property extra should not exist',
      ]),
    );
    const nested = await publish({ events: [{ channel: 'a', type: 't', data: 1 }, { type: 1 }] });
    expect(((await nested.json()) as { message: string[] }).message).toEqual(
      expect.arrayContaining([
        'events.1.channel must be a string',
        'events.1.type must be a string',
      ]),
    );
    expect((await publish({ events: [] })).status).toBe(400);
    expect((await publish('[1, 2]')).status).toBe(400);
    expect((await publish('{"channel": ')).status).toBe(400);
  });

  it("answers an event that breaks the library's rules with 400, storing nothing", async () => {
    const response = await publish({
      events: [
        { channel: 'rules', type: 'ok', data: 1 },
        { channel: 'rules', type: 'bad\ntype', data: 2 },
      ],
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: [/control characters/] });
    const spaced = await publish({ channel: 'has space', type: 't', data: 1 });
    expect(spaced.status).toBe(400);
    expect(
      await suite.db.query(`SELECT 1 FROM eventstream.events WHERE channel = 'rules'`),
    ).toEqual([]);
  });

  it('answers a body over 1 MB with 413', async () => {
    const response = await publish({ channel: 'big', type: 't', data: 'x'.repeat(1_100_000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ statusCode: 413, message: 'request entity too large' });
  });

  /**
   * Sends the headers and the first 64 KiB of a body that never ends, and
   * resolves with the answer: only one given before the body was read arrives.
   */
  const answerToUnfinishedBody = (headers: Record<string, string>) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const request = httpRequest(`${suite.server.baseUrl}/publish`, { method: 'POST', headers });
      const timer = setTimeout(() => {
        request.destroy();
        reject(new Error('no answer before the body ended'));
      }, 5_000);
      request.once('response', (response) => {
        clearTimeout(timer);
        request.destroy();
        resolve(response);
      });
      request.once('error', () => undefined); // destroyed here once answered
      request.write(`{"channel":${'['.repeat(65_536)}`);
    });

  it('answers a request without the key with 401 before reading its body', async () => {
    const json = { 'Content-Type': 'application/json' };
    const lengths: Record<string, string>[] = [
      { 'Transfer-Encoding': 'chunked' },
      { 'Content-Length': '2000000' },
    ];
    for (const length of lengths) {
      expect((await answerToUnfinishedBody({ ...json, ...length })).statusCode).toBe(401);
    }
    // A complete body that is not JSON is not looked at either.
    const malformed = await publish('{"channel": ', { headers: json });
    expect(malformed.status).toBe(401);
  });

  it('logs nothing for what clients get wrong', async () => {
    const logged = suite.server.output().length;
    const tooLarge = await answerToUnfinishedBody({
      'Content-Type': 'application/json',
      'Content-Length': '2000000',
      Authorization: `Bearer ${KEY}`,
    });
    expect(tooLarge.statusCode).toBe(413);
    const latin1 = await publish(
      { channel: 'news', type: 't', data: 1 },
      {
        headers: {
          'Content-Type': 'application/json; charset=latin1',
          Authorization: `Bearer ${KEY}`,
        },
      },
    );
    expect(latin1.status).toBe(415);
    expect(await latin1.json()).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'The charset must be utf-8',
    });
    const nearLimit = JSON.stringify({ channel: 'big', type: 't', data: 'x'.repeat(1_000_000) });
    for (let i = 0; i < 80; i++) {
      const keyless = await publish(i % 2 ? '{"channel": ' : nearLimit, {
        headers: { 'Content-Type': 'application/json' },
      });
      expect(keyless.status).toBe(401);
    }
    expect(suite.server.output().slice(logged)).toBe('');
  });

  it('keeps serving after all of that', async () => {
    expect((await publish({ channel: 'after', type: 't', data: 1 })).status).toBe(201);
  });
});

describe('the bundled server without a publish key', () => {
  it('has no publish endpoint', async () => {
    const db = await createTestDatabase();
    const server = await startServerProcess({ DATABASE_URL: db.url });
    try {
      expect(server.output()).toContain('Publish endpoint off');
      const response = await fetch(`${server.baseUrl}/publish`, { method: 'POST' });
      expect(response.status).toBe(404);
    } finally {
      expect(await server.stop()).toBe(0);
      await db.drop();
    }
  });
});
