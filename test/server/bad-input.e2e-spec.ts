import fc from 'fast-check';
import { propertyRuns } from '../harness/property-runs';
import { serverOnOwnDatabase } from '../harness/server-suite';
import { SseRecorder } from '../harness/sse-client';

const KEY = 'bad-input-key-0123456789';

/** What an HTTP client lets through in a header value: no control characters. */
const printable = (text: string) =>
  Array.from(text)
    .filter((c) => c >= ' ' && c !== '\x7f')
    .join('');

/**
 * Bad input against the bundled server as it runs (a child process): every
 * answer is a 4xx with a clear message or a success, never a 5xx; nothing
 * refused is stored; the server keeps serving.
 */
describe('bad input over HTTP', () => {
  const suite = serverOnOwnDatabase({ EVENTSTREAM_PUBLISH_KEY: KEY });
  let stored = 0;
  const publish = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${suite.server.baseUrl}/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}`, ...headers },
      body,
    });
  /** The status and body of a refusal, checked for a JSON body with a message. */
  const refusal = async (response: Response) => {
    const text = await response.text();
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    const body = JSON.parse(text) as { statusCode: number; message: unknown };
    expect(body.statusCode).toBe(response.status);
    expect(String(body.message).length).toBeGreaterThan(0);
    return { status: response.status, message: String(body.message) };
  };
  const count = async () =>
    Number(
      (await suite.db.query<{ n: string }>('SELECT count(*) AS n FROM eventstream.events'))[0].n,
    );

  describe('POST /publish', () => {
    it('answers a body that is not JSON with 415, whatever it holds', async () => {
      const valid = JSON.stringify({ channel: 'ct', type: 't', data: 1 });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', '', 'json']) {
        const answer = await refusal(await publish(valid, { 'Content-Type': type }));
        expect(answer).toEqual({ status: 415, message: 'Content-Type must be application/json' });
      }
      expect(await count()).toBe(stored);
    });

    it('answers deeply nested bodies with 400 instead of overflowing the stack', async () => {
      const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
      const bodies = [
        `{"channel":"deep","type":"t","data":${deep(100_000)}}`,
        `{"channel":"deep","type":"t","data":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
        `{"events":[{"channel":"deep","type":"t","data":1,"x":${deep(50_000)}}]}`,
        `{"channel":"deep","type":"t","data":1,"extra":${deep(50_000)}}`,
      ];
      for (const body of bodies) {
        expect(await refusal(await publish(body))).toEqual({
          status: 400,
          message: 'the body is nested more than 64 levels deep',
        });
      }
      // Deep but within the limit is fine.
      const fine = await publish(`{"channel":"deep","type":"t","data":${deep(60)}}`);
      expect(fine.status).toBe(201);
      stored++;
      expect(await count()).toBe(stored);
    });

    it('stores the data exactly as sent, keys like __proto__ included', async () => {
      const data = '{"__proto__":{"polluted":true},"constructor":{"prototype":1}}';
      const response = await publish(`{"channel":"proto","type":"t","data":${data}}`);
      expect(response.status).toBe(201);
      stored++;
      const batch = await publish(`{"events":[{"channel":"proto","type":"t","data":${data}}]}`);
      expect(batch.status).toBe(201);
      stored++;
      const rows = await suite.db.query<{ data: string }>(
        `SELECT data::text FROM eventstream.events WHERE channel = 'proto' ORDER BY seq`,
      );
      expect(rows.map((r) => JSON.parse(r.data) as unknown)).toEqual([
        JSON.parse(data),
        JSON.parse(data),
      ]);
    });

    it('refuses with 400 what it could not store as sent, naming where it is', async () => {
      const cases: [string | Buffer, string][] = [
        [
          '{"channel":"exact","type":"t","data":{"id":9007199254740993}}',
          'data.id: the integer 9007199254740993 is beyond ±(2^53−1) and would not be stored exactly',
        ],
        [
          '{"channel":"exact","type":"t","data":{"big":12345678901234567890}}',
          'data.big: the integer 12345678901234567890 is beyond ±(2^53−1)',
        ],
        [
          '{"channel":"exact","type":"t","data":{"e":1e400}}',
          'data.e: the number 1e400 is too large to be stored',
        ],
        [
          '{"channel":"exact","type":"t","data":[0,-2.5e-400]}',
          'data.1: the number -2.5e-400 is too small to be stored (it would become 0)',
        ],
        ['{"channel":"exact","type":"t","data":{"a":1,"a":2}}', 'data: duplicate key "a"'],
        ['{"channel":"exact","channel":"other","type":"t","data":1}', 'the body: duplicate key'],
        [
          '{"events":[{"channel":"exact","type":"t","data":{"x":[{"k":1,"\\u006b":2}]}}]}',
          'events.0.data.x.0: duplicate key "k"',
        ],
        ['{"channel":"exact","type":"t\\ud800","data":1}', 'type: the string has a lone surrogate'],
        ['{"channel":"exact\\udc00","type":"t","data":1}', 'channel: the string has a lone'],
        [
          '{"channel":"exact","type":"t","data":{"k\\ud83d":"v"}}',
          'data: the key "k\\ud83d" has a lone surrogate',
        ],
        [
          Buffer.concat([
            Buffer.from('{"channel":"exact","type":"t","data":"'),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from('"}'),
          ]),
          'the body is not valid UTF-8',
        ],
        // Cut off in the middle of a character: nothing of it may be left for the next body.
        [
          Buffer.concat([
            Buffer.from('{"channel":"exact","type":"t","data":"'),
            Buffer.from([0xe2]),
          ]),
          'the body is not valid UTF-8',
        ],
      ];
      for (const [body, message] of cases) {
        const response = await fetch(`${suite.server.baseUrl}/publish`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
          body,
        });
        expect(await refusal(response)).toEqual({
          status: 400,
          message: expect.stringContaining(message) as unknown,
        });
      }
      expect(await count()).toBe(stored);
    });

    it('stores safe integers, decimals (as the nearest double) and surrogate pairs', async () => {
      // Raw UTF-8 too, right after a body that was not valid UTF-8.
      const data =
        '{"max":9007199254740991,"min":-9007199254740991,"d":0.1,"big":1e308,"tiny":5e-324,' +
        '"pair":"\\ud83d\\ude00","zero":0e-999,"raw":"é😀"}';
      const response = await publish(`{"channel":"exact","type":"t","data":${data}}`);
      expect(response.status).toBe(201);
      stored++;
      const [row] = await suite.db.query<{ data: string }>(
        `SELECT data::text FROM eventstream.events WHERE channel = 'exact'`,
      );
      expect(JSON.parse(row.data)).toEqual(JSON.parse(data));
      expect(JSON.parse(row.data)).toMatchObject({ pair: '😀', max: Number.MAX_SAFE_INTEGER });
    });

    it('answers any JSON body with 201 or a clear 4xx, and stores only what it accepted', async () => {
      const name = fc.oneof(
        fc.constantFrom('news', 'a/b', 'é', '', ' ', 'a\nb', 'x'.repeat(129), 'stream-open', '%2C'),
        fc.string({ maxLength: 10 }),
      );
      const field = fc.oneof(name, fc.jsonValue({ maxDepth: 3 }));
      const event = fc.record(
        {
          channel: field,
          type: field,
          data: fc.jsonValue({ maxDepth: 4 }),
          extra: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      );
      const body = fc.oneof(
        event,
        fc.record({ events: fc.oneof(fc.array(event, { maxLength: 4 }), fc.jsonValue()) }),
        fc.jsonValue({ maxDepth: 3 }),
      );
      await fc.assert(
        fc.asyncProperty(body, async (value) => {
          const response = await publish(JSON.stringify(value));
          if (response.status === 201) {
            stored += ((await response.json()) as { ids: string[] }).ids.length;
          } else {
            await refusal(response);
          }
        }),
        propertyRuns(150),
      );
      expect(await count()).toBe(stored);
    });

    it('answers any text body with a clear 4xx when it is not a publishable object', async () => {
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom('', 'null', '[]', '"x"', '{', '{"events":', '{"channel":"a"}}', '\u0000'),
      );
      await fc.assert(
        fc.asyncProperty(text, async (body) => {
          const response = await publish(body);
          if (response.status === 201) {
            stored += ((await response.json()) as { ids: string[] }).ids.length;
          } else {
            await refusal(response);
          }
        }),
        propertyRuns(100),
      );
      expect(await count()).toBe(stored);
    });

    it('answers any wrong key with 401, whatever its length', async () => {
      const valid = JSON.stringify({ channel: 'keys', type: 't', data: 1 });
      const key = fc.oneof(
        fc.string({ unit: 'binary-ascii', maxLength: 200 }).map(printable),
        fc.constantFrom(KEY.slice(0, -1), `${KEY}x`, KEY.toUpperCase(), 'x'.repeat(8_000)),
      );
      await fc.assert(
        fc.asyncProperty(
          key,
          fc.constantFrom('Bearer ', 'bearer ', 'Basic ', ''),
          async (k, scheme) => {
            // Header values lose surrounding whitespace on the way.
            fc.pre(k.trim() !== KEY);
            const header = `${scheme}${k}`.trim();
            const response = await publish(valid, { Authorization: header });
            expect(await refusal(response)).toMatchObject({ status: 401 });
          },
        ),
        propertyRuns(60),
      );
      expect(await count()).toBe(stored);
    });
  });

  describe('GET /events', () => {
    /** A stream that opens is cut at once: only the status matters. */
    const get = async (query: string, headers: Record<string, string> = {}) => {
      const controller = new AbortController();
      const response = await fetch(`${suite.server.baseUrl}/events?${query}`, {
        headers,
        signal: controller.signal,
      });
      if (response.status === 200) {
        controller.abort();
        return { status: 200, message: '' };
      }
      return refusal(response);
    };

    it('refuses thousands of channels in one request', async () => {
      const names = Array.from({ length: 2_000 }, (_, i) => `c${i}`);
      expect(await get(`channels=${names.join(',')}`)).toEqual({
        status: 400,
        message: expect.stringContaining('at most 10 channels') as unknown,
      });
      // A request line past Node's header limit is refused before the app sees it.
      const response = await fetch(
        `${suite.server.baseUrl}/events?${names.map((n) => `channel=${n}`).join('&')}`,
      );
      expect(response.status).toBe(431);
    });

    it('answers any query and Last-Event-ID with a stream or a clear 4xx', async () => {
      const piece = fc.oneof(
        fc.constantFrom(
          'a',
          'news',
          'é',
          '%',
          '%2C',
          '%3A',
          '%25',
          '%2',
          '%zz',
          '%00',
          '%0A',
          '%0D%0A',
          '%E2%80',
          ',',
          ':',
          '&',
          '=',
          '+',
          '#',
          '[]',
          '..',
          '/',
          '-1',
          '0',
          '9223372036854775808',
          'error',
          'x'.repeat(200),
        ),
        fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent),
      );
      const value = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
      const param = fc.tuple(
        fc.constantFrom('channel', 'channels', 'lastEventId', 'channel[]', 'link', 'es-meta'),
        value,
      );
      const headerValue = fc.oneof(
        value.map((v) => v.replace(/[^\x20-\x7e]/g, '')),
        fc.string({ unit: 'binary-ascii', maxLength: 30 }).map(printable),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(param, { minLength: 1, maxLength: 5 }),
          fc.option(headerValue),
          async (params, lastEventId) => {
            const query = params.map(([k, v]) => `${k}=${v}`).join('&');
            const answer = await get(
              query,
              lastEventId === null ? {} : { 'Last-Event-ID': lastEventId },
            );
            expect([200, 400, 403]).toContain(answer.status);
          },
        ),
        propertyRuns(200),
      );
    });
  });

  it('keeps serving after all of that', async () => {
    const client = new SseRecorder(`${suite.server.baseUrl}/events?channel=after`, {
      eventTypes: ['t'],
    });
    try {
      await client.until((c) => c.opens === 1);
      expect((await publish(JSON.stringify({ channel: 'after', type: 't', data: 1 }))).status).toBe(
        201,
      );
      await client.until((c) => c.events('t').length === 1);
    } finally {
      client.close();
    }
  });
});
