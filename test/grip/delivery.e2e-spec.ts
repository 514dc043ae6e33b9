import { SignJWT } from 'jose';
import { startGripApp, type BehindPushpin } from '../harness/grip-app';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import type { TestDatabase } from '../harness/postgres';
import type { RunningPushpin } from '../harness/pushpin';
import { SseRecorder } from '../harness/sse-client';
import { userFromHeader } from '../harness/test-user';
import { KEEP_ALIVE, STREAM_HEADERS } from '../../src/eventstream/sse/sse-frames';

const SIG_KEY = 'grip-test-key-0123456789abcdefghijklmnopqrstuv';
const LINK_SECRET = 'link-secret-0123456789abcdefghijklmnopqrstuv';

const gripSig = (key: string, expiresIn = '1h') =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('pushpin')
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(key));

describe('GRIP mode through a real Pushpin', () => {
  const denied = new Set<string>();
  let db: TestDatabase;
  let pushpin: RunningPushpin;
  let app: HttpApp;
  const clients: SseRecorder[] = [];
  const connect = (query: string, headers?: Record<string, string>) => {
    const client = new SseRecorder(`${pushpin.url}/events?${query}`, {
      headers,
      eventTypes: ['n'],
    });
    clients.push(client);
    return client;
  };

  let stack: BehindPushpin<HttpApp>;

  beforeAll(async () => {
    stack = await startGripApp({
      pushpin: { sigKey: SIG_KEY },
      options: {
        replayPageSize: 50,
        keepAliveMs: 1_000,
        resolveUser: userFromHeader,
        authorizer: {
          canReadChannel: (user: { id: string } | undefined, channel: string) =>
            !denied.has(`${user?.id}/${channel}`),
        },
        onConnect: {
          onConnect: ({ channels }) =>
            channels[0] === 'with-state' ? [{ type: 'state', data: { done: '100%' } }] : [],
        },
      },
    });
    ({ db, pushpin, app } = stack);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => stack?.stop());

  it('hands the stream to Pushpin and delivers what is published after commit', async () => {
    const client = connect('channel=live');
    await client.until((c) => c.opens === 1);
    // The app holds no stream itself: Pushpin does.
    expect(app.hub.size).toBe(0);
    await app.events.sendEvent('live', 'n', { text: '100% sure' });
    await app.events.sendEvent('live', 'n', 2);
    await client.until((c) => c.events('n').length === 2);
    expect(client.events('n')).toEqual([
      { type: 'n', id: 'live:1', data: '{"text":"100% sure"}' },
      { type: 'n', id: 'live:2', data: '2' },
    ]);
  });

  it('sends the keep-alive and headers of direct mode, byte for byte', async () => {
    const response = await fetch(`${pushpin.url}/events?channel=kept-alive`);
    expect(response.headers.get('content-type')).toBe(STREAM_HEADERS['Content-Type']);
    expect(response.headers.get('cache-control')).toBe(STREAM_HEADERS['Cache-Control']);
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let text = '';
    // keepAliveMs is 1 s here.
    while (!text.includes('keep-alive')) text += (await reader.read()).value ?? '';
    while (!text.endsWith('\n\n')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    expect(text.slice(text.lastIndexOf('event: keep-alive'))).toBe(KEEP_ALIVE);
  });

  it('streams the same bytes as direct mode for the same events, replayed and live', async () => {
    // One wire format: a client cannot tell the two modes apart. The app
    // streams unsigned requests directly, so both come from the same app.
    await app.events.sendEvent('same-bytes', 'n', { text: '50% off', line: 'a\nb' });
    await app.events.sendEvent('same:other', 'n', 'x');
    await app.events.sendEvent('same-bytes', 'n', 2);
    const open = async (url: string, lastEventId: string) => {
      const response = await fetch(url, { headers: { 'Last-Event-ID': lastEventId } });
      return (response.body as ReadableStream<Uint8Array>)
        .pipeThrough(new TextDecoderStream())
        .getReader();
    };
    const readUntil = async (reader: ReadableStreamDefaultReader<string>, last: string) => {
      let text = '';
      while (!text.includes(last)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${last}: ${text}`);
        text += value;
      }
      await reader.cancel();
      // Keep-alives come on each mode's own clock.
      return text.split(KEEP_ALIVE).join('');
    };
    for (const [query, from] of [
      ['channel=same-bytes', 'same-bytes:0'],
      ['channel=same-bytes&channel=same:other', 'same-bytes:0,same%3Aother:0'],
    ]) {
      const direct = await open(app.streamUrl(query), from);
      const proxied = await open(`${pushpin.url}/events?${query}`, from);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const live = { live: `100% ${query}` };
      await app.events.sendEvent('same-bytes', 'n', live);
      const last = `data: ${JSON.stringify(live)}\n\n`;
      const [directText, proxiedText] = await Promise.all([
        readUntil(direct, last),
        readUntil(proxied, last),
      ]);
      expect(proxiedText).toBe(directText);
      expect(directText).toContain('data: {"text":"50% off","line":"a\\nb"}\n');
    }
  });

  it('replays from Last-Event-ID through Pushpin, then goes live', async () => {
    for (let i = 1; i <= 3; i++) await app.events.sendEvent('replayed', 'n', i);
    const client = connect('channel=replayed', { 'Last-Event-ID': 'replayed:1' });
    await client.until((c) => c.events('n').length === 2);
    await app.events.sendEvent('replayed', 'n', 4);
    await client.until((c) => c.events('n').length === 3);
    expect(client.events('n').map((e) => e.id)).toEqual(['replayed:2', 'replayed:3', 'replayed:4']);
  });

  it('gives each connection its own composite id for several channels', async () => {
    await app.events.sendEvent('multi:a', 'n', 'a1');
    const both = connect('channel=multi:a&channel=multi:b');
    const onlyB = connect('channel=multi:b');
    await both.until((c) => c.opens === 1);
    await onlyB.until((c) => c.opens === 1);
    await app.events.sendEvent('multi:b', 'n', 'b1');
    await both.until((c) => c.events('n').length === 1);
    await onlyB.until((c) => c.events('n').length === 1);
    expect(both.events('n')[0].id).toBe('multi%3Aa:1,multi%3Ab:1');
    expect(onlyB.events('n')[0].id).toBe('multi%3Ab:1');
  });

  it('puts the onConnect events in the first reply, before the replay, without ids', async () => {
    await app.events.sendEvent('with-state', 'n', 1);
    await app.events.sendEvent('with-state', 'n', 2);
    const client = new SseRecorder(`${pushpin.url}/events?channel=with-state`, {
      headers: { 'Last-Event-ID': 'with-state:1' },
      eventTypes: ['n', 'state'],
    });
    clients.push(client);
    await client.until((c) => c.events('n').length === 1);
    await app.events.sendEvent('with-state', 'n', 3);
    await client.until((c) => c.events('n').length === 2);
    expect(client.events('state', 'n')).toEqual([
      // eventsource reports the last id it has for an event without one.
      { type: 'state', id: 'with-state:1', data: '{"done":"100%"}' },
      { type: 'n', id: 'with-state:2', data: '2' },
      { type: 'n', id: 'with-state:3', data: '3' },
    ]);
  });

  it('replays % in data and in encoded channel names intact, in the first reply', async () => {
    await app.events.sendEvent('pct:a', 'n', '100%');
    await app.events.sendEvent('pct/b', 'n', '%s %(x)s %I');
    const client = new SseRecorder(`${pushpin.url}/events?channel=pct:a&channel=pct/b`, {
      headers: { 'Last-Event-ID': 'pct%3Aa:0,pct%2Fb:0' },
      eventTypes: ['n'],
    });
    clients.push(client);
    await client.until((c) => c.events('n').length === 2);
    expect(client.events('n')).toEqual([
      { type: 'n', id: 'pct%3Aa:1,pct%2Fb:0', data: '"100%"' },
      { type: 'n', id: 'pct%3Aa:1,pct%2Fb:1', data: '"%s %(x)s %I"' },
    ]);
  });

  it('delivers one event intact to streams of its channel alone and of several channels', async () => {
    await app.events.sendEvent('pct-live', 'n', '%s 0%');
    const alone = new SseRecorder(`${pushpin.url}/events?channel=pct-live`, {
      headers: { 'Last-Event-ID': 'pct-live:0' },
      eventTypes: ['n'],
    });
    const several = new SseRecorder(`${pushpin.url}/events?channel=pct-live&channel=pct-other`, {
      eventTypes: ['n'],
    });
    clients.push(alone, several);
    await alone.until((c) => c.events('n').length === 1);
    await several.until((c) => c.opens === 1);
    await app.events.sendEvent('pct-live', 'n', '%s %(x)s %I 100%');
    await alone.until((c) => c.events('n').length === 2);
    await several.until((c) => c.events('n').length === 1);
    expect(alone.events('n')).toEqual([
      { type: 'n', id: 'pct-live:1', data: '"%s 0%"' },
      { type: 'n', id: 'pct-live:2', data: '"%s %(x)s %I 100%"' },
    ]);
    expect(several.events('n')).toEqual([
      { type: 'n', id: 'pct-live:2,pct-other:0', data: '"%s %(x)s %I 100%"' },
    ]);
  });

  it('replays the largest event it takes, % escapes and all, and refuses a larger one', async () => {
    // 65,536 bytes of JSON once each % is escaped: a quoted string of 32,767 of them.
    const largest = '%'.repeat(32_767);
    await app.events.sendEvent('largest', 'n', largest);
    await expect(app.events.sendEvent('largest', 'n', `${largest}%`)).rejects.toThrow(
      /65538 bytes \(with each % counted twice, as GRIP replies escape it\)/,
    );
    const client = connect('channel=largest&lastEventId=largest:0');
    await client.until((c) => c.events('n').length === 1);
    expect(client.events('n').map((e) => [e.id, JSON.parse(e.data) as string])).toEqual([
      ['largest:1', largest],
    ]);
  });

  it('replays a backlog larger than one GRIP response in pages, in order', async () => {
    const padding = 'x'.repeat(1_000);
    for (let from = 1; from <= 300; from += 100) {
      await app.events.sendEvents(
        Array.from({ length: 100 }, (_, k) => ({
          channel: 'paged',
          type: 'n',
          data: { i: from + k, padding },
        })),
      );
    }
    const client = connect('channel=paged', { 'Last-Event-ID': 'paged:0' });
    await client.until((c) => c.events('n').length === 300, 20_000);
    expect(client.events('n').map((e) => (JSON.parse(e.data) as { i: number }).i)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    expect(client.opens).toBe(1);
  });

  it('keeps idle streams alive through Pushpin, without moving their position', async () => {
    await app.events.sendEvent('idle', 'n', 1);
    const client = connect('channel=idle', { 'Last-Event-ID': 'idle:0' });
    await client.until((c) => c.events('keep-alive').length >= 1, 5_000);
    expect(client.events('keep-alive')[0]).toEqual({ type: 'keep-alive', id: 'idle:1', data: '' });
  });

  it('closes the streams Pushpin holds for a revoked channel, and only those', async () => {
    const room = connect('channel=vip', { 'x-user': 'u1' });
    const roomAndLobby = connect('channel=vip&channel=lobby', { 'x-user': 'u1' });
    const other = connect('channel=lobby', { 'x-user': 'u1' });
    const colleague = connect('channel=vip', { 'x-user': 'u2' });
    const all = [room, roomAndLobby, other, colleague];
    await Promise.all(all.map((c) => c.until((r) => r.opens === 1)));
    denied.add('u1/vip');
    await app.events.channelPermissionChanged('u1', 'vip');
    for (const revoked of [room, roomAndLobby]) {
      await revoked.until((c) => c.events('stream-error').length === 1);
      expect(JSON.parse(revoked.events('stream-error')[0].data)).toEqual({
        condition: 'forbidden',
        text: 'Access to channel vip was revoked',
      });
    }
    await app.events.sendEvent('lobby', 'n', 'still here');
    await app.events.sendEvent('vip', 'n', 'for u2');
    await other.until((c) => c.events('n').length === 1);
    await colleague.until((c) => c.events('n').length === 1);
    expect(colleague.events('stream-error')).toEqual([]);
    expect(other.events('stream-error')).toEqual([]);
    // Reconnecting is refused: the stream-error's id is no position.
    await room.until((c) => c.errors.some((e) => e.status === 400));
    expect(room.events('n')).toEqual([]);
    expect(roomAndLobby.events('stream-error')).toHaveLength(1);
  });

  describe('trusts only requests signed with the configured key', () => {
    const holds = async (headers: Record<string, string>) => {
      const response = await fetch(app.streamUrl('channel=trust'), { headers });
      const hold = response.headers.get('grip-hold');
      await response.body?.cancel();
      return hold;
    };

    it('gives GRIP instructions to a request Pushpin signed', async () => {
      expect(await holds({ 'Grip-Sig': await gripSig(SIG_KEY) })).toBe('stream');
    });

    it('streams unsigned, forged and expired requests directly', async () => {
      expect(await holds({})).toBeNull();
      expect(await holds({ 'Grip-Sig': await gripSig('not-the-key') })).toBeNull();
      expect(await holds({ 'Grip-Sig': 'garbage' })).toBeNull();
      expect(await holds({ 'Grip-Sig': await gripSig(SIG_KEY, '-1m') })).toBeNull();
    });

    it('refuses a next link with a tampered or missing token', async () => {
      const signed = await gripSig(SIG_KEY);
      const direct = await fetch(app.streamUrl('link=next&es-meta=abc'), {
        headers: { 'Grip-Sig': signed },
      });
      expect(direct.status).toBe(403);
      // A real next link, taken from a reply, with its token altered.
      const reply = await fetch(app.streamUrl('channel=trust'), {
        headers: { 'Grip-Sig': signed },
      });
      const link = /<([^>]+)>/.exec(reply.headers.get('grip-link') ?? '')?.[1] ?? '';
      await reply.body?.cancel();
      expect(link).toContain('link=next');
      const valid = await fetch(`${app.baseUrl}${link}`, { headers: { 'Grip-Sig': signed } });
      expect(valid.status).toBe(200);
      await valid.body?.cancel();
      // Altered inside the signed claims (the JWT's middle part): the last
      // character would only touch padding bits when it is one of A-D.
      const tampered = link.replace(
        /(es-meta=[^.&]*\.)(.)/,
        (_, before: string, c: string) => `${before}${c === 'e' ? 'f' : 'e'}`,
      );
      expect(tampered).not.toBe(link);
      const refused = await fetch(`${app.baseUrl}${tampered}`, { headers: { 'Grip-Sig': signed } });
      expect(refused.status).toBe(403);
      const unsigned = await fetch(`${app.baseUrl}${link}`);
      expect(unsigned.status).toBe(403);
    });

    it('asks the authorizer again on every next-link call', async () => {
      const signed = await gripSig(SIG_KEY);
      const headers = { 'Grip-Sig': signed, 'x-user': 'u3' };
      const reply = await fetch(app.streamUrl('channel=linked'), { headers });
      const link = /<([^>]+)>/.exec(reply.headers.get('grip-link') ?? '')?.[1] ?? '';
      await reply.body?.cancel();
      denied.add('u3/linked');
      // Pushpin calls the link without the client's headers: the user comes
      // from the link's token.
      const refused = await fetch(`${app.baseUrl}${link}`, { headers: { 'Grip-Sig': signed } });
      expect(refused.status).toBe(403);
    });

    it('refuses unsigned requests when told to, and will not start without a key', async () => {
      const strict = await startHttpApp({
        options: {
          databaseUrl: db.url,
          grip: { url: pushpin.gripUrl, unsignedRequests: 'refuse' },
        },
      });
      try {
        const refused = await fetch(strict.streamUrl('channel=strict'));
        expect(refused.status).toBe(403);
        expect(await refused.json()).toMatchObject({ error: 'forbidden' });
        const signedStrict = await fetch(strict.streamUrl('channel=strict'), {
          headers: { 'Grip-Sig': await gripSig(SIG_KEY) },
        });
        expect(signedStrict.headers.get('grip-hold')).toBe('stream');
        await signedStrict.body?.cancel();
      } finally {
        await strict.close();
      }
      // Without a key nothing could be trusted: that is a mistake, not a mode.
      await expect(
        startHttpApp({
          options: {
            databaseUrl: db.url,
            grip: { url: 'http://127.0.0.1:9/', linkSecret: LINK_SECRET },
          },
        }),
      ).rejects.toThrow(/grip.url: give the key that verifies the proxy's Grip-Sig/);
    });
  });
});
