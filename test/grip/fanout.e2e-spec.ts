import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT } from 'jose';
import type { EventRecord } from '../../src/eventstream';
import { freePort } from '../../src/server/free-port';
import { startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { userFromHeader } from '../harness/test-user';
import { waitFor } from '../harness/wait';

interface Publish {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly items: { channel: string; id: string; 'prev-id'?: string; formats: object }[];
}

/**
 * Fastly's publish API as the library meets it: it records each publish
 * and answers with `status()` (a function, so a test can make it fail).
 */
async function startPublishStandIn(port: number, status: () => number) {
  const received: Publish[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      // The app's health check reads the API with a GET: any answer will do.
      if (request.method !== 'POST') return void response.writeHead(405).end();
      const code = status();
      if (code === 200) {
        const { items } = JSON.parse(body) as Pick<Publish, 'items'>;
        received.push({
          path: request.url ?? '',
          authorization: request.headers.authorization,
          items,
        });
      }
      response
        .writeHead(code, { 'Content-Type': 'text/plain' })
        .end(code === 200 ? 'Published' : 'No');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * A managed GRIP proxy that signs with a key pair, as Fastly Fanout does
 * (ES256, its public key and `verify-iss` in the GRIP URL). Fastly cannot be
 * reached from here: a key pair made in the test stands in for Fastly's, the
 * test signs `Grip-Sig` as the proxy would, and a local server stands in for
 * its publish API.
 */
describe('GRIP mode behind a proxy with a public verify key (Fastly Fanout)', () => {
  const ISS = 'fastly:service-1';
  const LINK_SECRET = 'fanout-link-secret-0123456789abcdefghijkl';
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
  let db: TestDatabase;
  let app: HttpApp;
  let fanoutUrl: string;
  let publishApi: Awaited<ReturnType<typeof startPublishStandIn>>;
  let publishStatus = 200;

  const proxySig = (claims: { iss?: string; exp?: string }) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256' });
    if (claims.iss) jwt.setIssuer(claims.iss);
    if (claims.exp) jwt.setExpirationTime(claims.exp);
    return jwt.sign(privateKey);
  };
  const fromProxy = async (query: string, headers: Record<string, string> = {}) =>
    fetch(app.streamUrl(query), {
      headers: { 'Grip-Sig': await proxySig({ iss: ISS, exp: '1h' }), ...headers },
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    const publishPort = await freePort();
    publishApi = await startPublishStandIn(publishPort, () => publishStatus);
    fanoutUrl = `http://127.0.0.1:${publishPort}/service/service-1?key=api-token&verify-iss=${encodeURIComponent(ISS)}&verify-key=${encodeURIComponent(jwk)}`;
    app = await startHttpApp({
      options: {
        databaseUrl: db.url,
        grip: { url: fanoutUrl, linkSecret: LINK_SECRET, unsignedRequests: 'refuse' },
        resolveUser: userFromHeader,
        loadUser: (id: string) => ({ id }),
        authorizer: {
          canReadChannel: (user: { id: string } | undefined, channel: string) =>
            channel !== 'secret-payroll' || user?.id === 'admin',
        },
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await publishApi?.close();
    await db?.drop();
  });

  /** The items of `record` for single-channel streams. */
  const isItemOf = (record: EventRecord) => (item: Publish['items'][number]) =>
    item.channel === `stream-${Buffer.from(record.channel).toString('base64url')}` &&
    item.id === String(record.seq);
  const itemsOf = (record: EventRecord) =>
    publishApi.received.flatMap((p) => p.items).filter(isItemOf(record));

  it("publishes each event to the service's publish API with its key as a bearer token", async () => {
    const record = await app.events.sendEvent('open', 'note', { text: 'hello' });
    await waitFor(() => itemsOf(record).length > 0);
    const publish = publishApi.received.find((p) => p.items.some(isItemOf(record)))!;
    expect(publish.path).toBe('/service/service-1/publish/');
    expect(publish.authorization).toBe('Bearer api-token');
    expect(itemsOf(record)[0]).toMatchObject({
      'prev-id': String(record.seq - 1),
      formats: {
        'http-stream': { content: `event: note\nid: ${record.id}\ndata: {"text":"hello"}\n\n` },
      },
    });
  });

  it('publishes an event again when the publish API fails for a moment, once', async () => {
    publishStatus = 503;
    const record = await app.events.sendEvent('open', 'note', { text: 'retried' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    publishStatus = 200;
    await waitFor(() => itemsOf(record).length > 0);
    // Past the last retry's delay: no second copy comes.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(itemsOf(record)).toHaveLength(1);
  });

  it('will not start without a linkSecret, naming the option', async () => {
    await expect(
      startHttpApp({ options: { databaseUrl: db.url, grip: { url: fanoutUrl } } }),
    ).rejects.toThrow(/grip.linkSecret is required when the first grip.url has a verify-key/);
  });

  it("holds a stream signed by the proxy's key pair, and its own next link works", async () => {
    const reply = await fromProxy('channel=open');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('grip-hold')).toBe('stream');
    await reply.body?.cancel();
    const link = /<([^>]+)>/.exec(reply.headers.get('grip-link') ?? '')?.[1] ?? '';
    const next = await fetch(`${app.baseUrl}${link}`, {
      headers: { 'Grip-Sig': await proxySig({ iss: ISS, exp: '1h' }) },
    });
    expect(next.status).toBe(200);
    await next.body?.cancel();
  });

  it('refuses a next-link token forged with the public verify key', async () => {
    const denied = await fromProxy('channel=secret-payroll');
    expect(denied.status).toBe(401);
    await denied.body?.cancel();
    // What anyone can sign: the verify key is public, and it once was the
    // default link secret.
    const forged = await new SignJWT({ ch: ['secret-payroll'], u: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('nestjs-eventstream')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(jwk));
    const query = new URLSearchParams({ link: 'next', 'es-meta': forged, recover: 'true' });
    const reply = await fromProxy(query.toString());
    expect(reply.status).toBe(403);
    expect(reply.headers.get('grip-hold')).toBeNull();
    expect(await reply.json()).toMatchObject({ error: 'forbidden' });
  });

  it.each([
    ['another service of the proxy', { iss: 'fastly:another-service', exp: '1h' }],
    ['no issuer', { exp: '1h' }],
    ['no expiry', { iss: ISS }],
    ['an expiry passed', { iss: ISS, exp: '-10s' }],
  ])('refuses a Grip-Sig with %s', async (_, claims) => {
    const reply = await fetch(app.streamUrl('channel=open'), {
      headers: { 'Grip-Sig': await proxySig(claims) },
    });
    expect(reply.status).toBe(403);
    expect(reply.headers.get('grip-hold')).toBeNull();
    await reply.body?.cancel();
  });
});
