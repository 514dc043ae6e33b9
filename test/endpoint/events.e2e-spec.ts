import { request as httpRequest } from 'node:http';
import { RetentionService } from '../../src/eventstream';
import { PLATFORMS, startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { SseRecorder } from '../harness/sse-client';
import { waitFor } from '../harness/wait';

describe.each(PLATFORMS)('GET /events on %s', (platform) => {
  let db: TestDatabase;
  let server: HttpApp;
  const clients: SseRecorder[] = [];
  const connect = (query: string, headers?: Record<string, string>) => {
    const client = new SseRecorder(server.streamUrl(query), { headers, eventTypes: ['msg'] });
    clients.push(client);
    return client;
  };
  const ids = (client: SseRecorder) => client.events().map((e) => e.id);

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startHttpApp({
      platform,
      options: { databaseUrl: db.url, replayPageSize: 5, retention: { maxEventsPerChannel: 10 } },
    });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('opens with stream-open and the SSE headers, then streams new events live', async () => {
    const response = await fetch(server.streamUrl('channel=live'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    await response.body?.cancel();

    const client = connect('channel=live');
    await client.until((c) => c.opens === 1);
    expect(client.received[0]).toEqual({ type: 'stream-open', id: '', data: '' });
    await server.events.sendEvent('live', 'msg', { text: 'hello' });
    await client.until((c) => c.events().length === 1);
    expect(client.events()).toEqual([{ type: 'msg', id: 'live:1', data: '{"text":"hello"}' }]);
  });

  it('starts from now without a position, and replays after one from the header or query', async () => {
    for (let i = 1; i <= 4; i++) await server.events.sendEvent('replay', 'msg', i);
    const fresh = connect('channel=replay');
    await fresh.until((c) => c.opens === 1);
    await server.events.sendEvent('replay', 'msg', 5);
    await fresh.until((c) => c.events().length === 1);
    expect(ids(fresh)).toEqual(['replay:5']);

    const byHeader = connect('channel=replay', { 'Last-Event-ID': 'replay:2' });
    const byQuery = connect('channel=replay&lastEventId=replay:3');
    // The header wins over the query.
    const both = connect('channel=replay&lastEventId=replay:1', { 'Last-Event-ID': 'replay:4' });
    await byHeader.until((c) => c.events().length === 3);
    await byQuery.until((c) => c.events().length === 2);
    await both.until((c) => c.events().length === 1);
    expect(ids(byHeader)).toEqual(['replay:3', 'replay:4', 'replay:5']);
    expect(ids(byQuery)).toEqual(['replay:4', 'replay:5']);
    expect(ids(both)).toEqual(['replay:5']);
  });

  it('resumes several channels from one composite id, ignoring foreign entries', async () => {
    await server.events.sendEvents([
      { channel: 'multi-a', type: 'msg', data: 'a1' },
      { channel: 'multi-b', type: 'msg', data: 'b1' },
      { channel: 'multi-a', type: 'msg', data: 'a2' },
    ]);
    const client = connect('channel=multi-a&channel=multi-b', {
      'Last-Event-ID': 'multi-a:1,elsewhere:99,multi-b:0',
    });
    await client.until((c) => c.events().length === 2);
    await server.events.sendEvent('multi-b', 'msg', 'b2');
    await client.until((c) => c.events().length === 3);
    const received = client.events();
    // Each channel in order; every id names exactly the stream's channels.
    expect(received.filter((e) => e.data.startsWith('"a')).map((e) => e.data)).toEqual(['"a2"']);
    expect(received.filter((e) => e.data.startsWith('"b')).map((e) => e.data)).toEqual([
      '"b1"',
      '"b2"',
    ]);
    expect(received.at(-1)?.id).toBe('multi-a:2,multi-b:2');
    for (const { id } of received) expect(id).not.toContain('elsewhere');

    const viaList = connect('channels=multi-a,multi-b&lastEventId=multi-a:2,multi-b:1');
    await viaList.until((c) => c.events().length === 1);
    expect(viaList.events()[0]).toMatchObject({ data: '"b2"', id: 'multi-a:2,multi-b:2' });
  });

  it('replays a backlog many pages long in order, then goes live without a gap', async () => {
    const channel = 'long';
    await server.events.sendEvents(
      Array.from({ length: 9 }, (_, i) => ({ channel, type: 'msg', data: i + 1 })),
    );
    const client = connect(`channel=${channel}`, { 'Last-Event-ID': `${channel}:0` });
    // Publish while the client connects and replays (in pages of 5).
    for (let i = 10; i <= 30; i++) await server.events.sendEvent(channel, 'msg', i);
    await client.until((c) => c.events().length === 30);
    expect(client.events().map((e) => Number(e.data))).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
  });

  it('sends stream-reset for a position that was trimmed, then streams from now', async () => {
    const channel = 'trimmed';
    await server.events.sendEvents(
      Array.from({ length: 15 }, (_, i) => ({ channel, type: 'msg', data: i + 1 })),
    );
    await server.app.get(RetentionService).trimNow();
    const client = connect(`channel=${channel}`, { 'Last-Event-ID': `${channel}:2` });
    await client.until((c) => c.events('stream-reset').length === 1);
    expect(client.events('stream-reset')[0]).toEqual({
      type: 'stream-reset',
      id: 'trimmed:15',
      data: '{"channels":["trimmed"]}',
    });
    await server.events.sendEvent(channel, 'msg', 16);
    await client.until((c) => c.events().length === 1);
    expect(ids(client)).toEqual(['trimmed:16']);
  });

  it('sends stream-reset for a position ahead of the channel (a recreated database)', async () => {
    await server.events.sendEvent('ahead', 'msg', 1);
    const client = connect('channel=ahead', { 'Last-Event-ID': 'ahead:500' });
    await client.until((c) => c.events('stream-reset').length === 1);
    expect(client.events('stream-reset')[0].id).toBe('ahead:1');
    const huge = connect('channel=ahead', { 'Last-Event-ID': 'ahead:9223372036854775807' });
    await huge.until((c) => c.events('stream-reset').length === 1);
  });

  it('sends keep-alive events without ids', async () => {
    const quiet = await startHttpApp({
      platform,
      options: { databaseUrl: db.url, keepAliveMs: 100 },
    });
    try {
      const client = new SseRecorder(quiet.streamUrl('channel=quiet'), {
        headers: { 'Last-Event-ID': 'quiet:0' },
      });
      clients.push(client);
      await client.until((c) => c.events('keep-alive').length >= 2);
      // No id of its own: the client's position stays where it was.
      expect(client.events('keep-alive')[0]).toEqual({
        type: 'keep-alive',
        id: 'quiet:0',
        data: '',
      });
    } finally {
      clients.forEach((c) => c.close());
      await quiet.close();
    }
  });

  describe('refuses bad requests with a status and a JSON body', () => {
    const cases: [string, string, Record<string, string>, number, RegExp][] = [
      ['no channel', '', {}, 400, /give at least one channel/],
      ['an empty channel list', 'channels=', {}, 400, /cannot be empty/],
      ['a bad channel name', 'channel=a%20b', {}, 400, /may contain only/],
      ['a newline in a channel', 'channel=a%0Aid:%201', {}, 400, /may contain only/],
      [
        'too many channels',
        Array.from({ length: 11 }, (_, i) => `channel=c${i}`).join('&'),
        {},
        400,
        /at most 10 channels/,
      ],
      ['a malformed Last-Event-ID', 'channel=x', { 'Last-Event-ID': 'x:-1' }, 400, /channel:seq/],
      ['Last-Event-ID: error', 'channel=x', { 'Last-Event-ID': 'error' }, 400, /id of an error/],
      ['a seq past 64 bits', 'channel=x&lastEventId=x:9223372036854775808', {}, 400, /2\^63/],
      // Longer than any id a stream writes, within Node's header limit.
      ['a huge id', `channel=x&lastEventId=${'x:1,'.repeat(3950)}`, {}, 400, /at most 12288/],
      ['a mangled id', 'channel=x', { 'Last-Event-ID': 'x:1, y:2' }, 400, /does not name/],
    ];
    it.each(cases)('%s', async (_, query, headers, status, message) => {
      const response = await fetch(server.streamUrl(query), { headers });
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as { statusCode: number; message: string };
      expect(body.statusCode).toBe(status);
      expect(body.message).toMatch(message);
    });

    it('answers an SSE client with one stream-error event and the status', async () => {
      const response = await fetch(server.streamUrl('channel=bad%20name'), {
        headers: { Accept: 'text/event-stream' },
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      expect(text).toMatch(/^event: stream-error\nid: error\ndata: \{"condition":"bad-request"/);
      expect(text.match(/\n\n/g)).toHaveLength(1);
    });

    it('keeps serving after every bad request', async () => {
      const client = connect('channel=still-up');
      await client.until((c) => c.opens === 1);
      await server.events.sendEvent('still-up', 'msg', 1);
      await client.until((c) => c.events().length === 1);
    });
  });

  describe('takes back every id it writes', () => {
    // Letters outside the BMP cost the most: 12 characters each in an id, 20
    // in its query form (each `%` encoded again), 12 in a channel parameter.
    const LETTER = '\u{1D400}';
    /** Ten distinct channels of `length` characters: a digit, then letters. */
    const tenChannels = (length: number) =>
      Array.from({ length: 10 }, (_, i) => `${i}${LETTER.repeat(length - 1)}`);
    /** The query as this library's client writes it. */
    const queryOf = (channels: readonly string[], lastEventId?: string) => {
      const params = new URLSearchParams(
        channels.map((channel) => ['channel', channel] as [string, string]),
      );
      if (lastEventId !== undefined) params.set('lastEventId', lastEventId);
      return params.toString();
    };
    /** The longest id a stream of `channels` can write: every seq at 2^63 - 1. */
    const longestId = (channels: readonly string[]) =>
      channels.map((channel) => `${encodeURIComponent(channel)}:9223372036854775807`).join(',');
    /** The status (and, unless 200, the body) of a stream request; a stream is closed at once. */
    const answer = async (query: string, headers: Record<string, string> = {}) => {
      const controller = new AbortController();
      const response = await fetch(server.streamUrl(query), { headers, signal: controller.signal });
      const body = response.status === 200 ? '' : await response.text();
      controller.abort();
      return { status: response.status, body };
    };
    const OK = { status: 200, body: '' };

    it('refuses a stream up front, or takes back the longest id it can write by query and header', async () => {
      const admitted: number[] = [];
      for (const length of [1, 16, 32, 38, 39, 48, 64]) {
        const channels = tenChannels(length);
        const opened = await answer(queryOf(channels));
        if (opened.status !== 200) {
          expect(opened.status).toBe(400);
          expect((JSON.parse(opened.body) as { message: string }).message).toMatch(
            /the channel names are too long together: resuming this stream could take a URL of \d+ characters, and a stream must resume within 12288/,
          );
          continue;
        }
        admitted.push(length);
        const id = longestId(channels);
        expect(await answer(queryOf(channels, id))).toEqual(OK);
        expect(await answer(queryOf(channels), { 'Last-Event-ID': id })).toEqual(OK);
      }
      // 38 letters a channel is the most whose longest resuming URL fits in 12288 characters.
      expect(admitted).toEqual([1, 16, 32, 38]);
    });

    it('resumes ten channels at the limit from their ids, by query and by header; one letter more is refused', async () => {
      expect((await answer(queryOf(tenChannels(39)))).status).toBe(400);
      const channels = tenChannels(38);
      await server.events.sendEvents(
        channels.map((channel, n) => ({ channel, type: 'msg', data: n })),
      );
      const from = channels.map((channel) => `${encodeURIComponent(channel)}:0`).join(',');
      const all = connect(queryOf(channels, from));
      await all.until((c) => c.events().length === 10);
      expect(all.events().map((e) => Number(e.data))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const middle = all.events()[4].id;

      const byQuery = connect(queryOf(channels, middle));
      const byHeader = connect(queryOf(channels), { 'Last-Event-ID': middle });
      for (const client of [byQuery, byHeader]) {
        await client.until((c) => c.events().length === 5);
        expect(client.events().map((e) => Number(e.data))).toEqual([5, 6, 7, 8, 9]);
        expect(client.events().at(-1)?.id).toBe(all.events().at(-1)?.id);
      }
    });
  });

  it('closes the stream of a client that goes away, leaving nothing behind', async () => {
    // Streams of earlier tests' clients end as their sockets close.
    await waitFor(() => server.hub.size === 0);
    const stream = await openRaw(server.streamUrl('channel=leaving'));
    expect(server.hub.size).toBe(1);
    stream.destroy();
    await waitFor(() => server.hub.size === 0);
  });
});

function openRaw(url: string): Promise<import('node:http').ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      res.once('data', () => resolve(req));
    });
    req.on('error', reject);
    req.end();
  });
}
