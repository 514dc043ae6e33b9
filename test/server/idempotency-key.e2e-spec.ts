import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { serverOnOwnDatabase } from '../harness/server-suite';

const KEY = 'test-publish-key-0123456789';

/** `POST /publish` with `Idempotency-Key` (the IETF httpapi draft's semantics). */
describe('the bundled server’s Idempotency-Key', () => {
  const suite = serverOnOwnDatabase({ EVENTSTREAM_PUBLISH_KEY: KEY });
  const publish = (body: unknown, idempotencyKey?: string) =>
    fetch(`${suite.server.baseUrl}/publish`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${KEY}`,
        ...(idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey }),
      },
      body: JSON.stringify(body),
    });
  const answer = async (response: Response) => ({
    status: response.status,
    body: await response.json(),
  });
  const storedCount = async (channel: string) =>
    (
      await suite.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM eventstream.events WHERE channel = $1',
        [channel],
      )
    )[0].n;

  it('answers a retry with the same body with the same 201 and ids, storing nothing', async () => {
    const body = { channel: 'replay', type: 'story', data: { title: 'once' } };
    const first = await answer(await publish(body, 'k-replay'));
    expect(first).toEqual({ status: 201, body: { ids: ['replay:1'] } });
    expect(await answer(await publish(body, 'k-replay'))).toEqual(first);
    // The draft's form, a Structured Field string, is the same key.
    expect(await answer(await publish(body, '"k-replay"'))).toEqual(first);
    const batch = {
      events: [
        { channel: 'replay', type: 'story', data: 1 },
        { channel: 'replay-2', type: 'story', data: 2 },
      ],
    };
    const firstBatch = await answer(await publish(batch, 'k-replay-batch'));
    expect(firstBatch).toEqual({ status: 201, body: { ids: ['replay:2', 'replay-2:1'] } });
    expect(await answer(await publish(batch, 'k-replay-batch'))).toEqual(firstBatch);
    expect(await storedCount('replay')).toBe(2);
    expect(await storedCount('replay-2')).toBe(1);
    // Without the header, each request is stored.
    await publish(body);
    await publish(body);
    expect(await storedCount('replay')).toBe(4);
  });

  it('answers the same key with another body with 422 naming the header, storing nothing', async () => {
    await publish({ channel: 'other-body', type: 'story', data: 1 }, 'k-other');
    const reused = await answer(
      await publish({ channel: 'other-body', type: 'story', data: 2 }, 'k-other'),
    );
    expect(reused).toEqual({
      status: 422,
      body: {
        statusCode: 422,
        error: 'Unprocessable Content',
        message: expect.stringMatching(
          /^Idempotency-Key "k-other" was already used with another body/,
        ) as unknown,
      },
    });
    expect(await storedCount('other-body')).toBe(1);
  });

  it('does not spend a key on a request that was refused', async () => {
    const bad = await publish({ channel: 'refused', type: 'stream-open', data: 1 }, 'k-refused');
    expect(bad.status).toBe(400);
    const good = await answer(
      await publish({ channel: 'refused', type: 'story', data: 1 }, 'k-refused'),
    );
    expect(good).toEqual({ status: 201, body: { ids: ['refused:1'] } });
  });

  it('stores concurrent retries once: they wait for the first and get its ids', async () => {
    // An app transaction holds the channel's counter row, so the first
    // request stays in flight, its key claimed but not committed.
    const holder = new Client({ connectionString: suite.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        "INSERT INTO eventstream.channels (name, last_seq) VALUES ('concurrent', 0) " +
          'ON CONFLICT (name) DO UPDATE SET last_seq = eventstream.channels.last_seq',
      );
      const body = { channel: 'concurrent', type: 'story', data: 'once' };
      let answered = 0;
      const requests = Array.from({ length: 8 }, () =>
        publish(body, 'k-concurrent').then(async (response) => {
          answered++;
          return answer(response);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(answered).toBe(0);
      await holder.query('COMMIT');
      const answers = await Promise.all(requests);
      for (const each of answers) {
        expect(each).toEqual({ status: 201, body: { ids: ['concurrent:1'] } });
      }
      expect(await storedCount('concurrent')).toBe(1);
    } finally {
      await holder.end();
    }
  });

  it('answers a malformed header with 400 naming it', async () => {
    const body = { channel: 'bad-header', type: 'story', data: 1 };
    const problems: [string, RegExp][] = [
      ['', /^Invalid Idempotency-Key header: it must not be empty$/],
      ['x'.repeat(256), /^Invalid Idempotency-Key header: it must be at most 255 characters/],
      ['"unterminated', /^Invalid Idempotency-Key header: a quoted key must be printable ASCII/],
      ['"bad \\x escape"', /^Invalid Idempotency-Key header: a quoted key/],
      ['""', /^Invalid Idempotency-Key header: it must not be empty$/],
    ];
    for (const [header, message] of problems) {
      const refused = await answer(await publish(body, header));
      expect(refused).toEqual({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', message: [expect.stringMatching(message)] },
      });
    }
    // Given twice, as two header lines (fetch would join them into one).
    const twice = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        `${suite.server.baseUrl}/publish`,
        { method: 'POST' },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.setHeader('Content-Type', 'application/json');
      request.setHeader('Authorization', `Bearer ${KEY}`);
      request.setHeader('Idempotency-Key', ['k-twice-a', 'k-twice-b']);
      request.end(JSON.stringify(body));
    });
    expect(twice.status).toBe(400);
    expect(JSON.parse(twice.body)).toMatchObject({
      message: ['Invalid Idempotency-Key header: give it once'],
    });
    expect(await storedCount('bad-header')).toBe(0);
  });
});
