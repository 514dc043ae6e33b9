import { createHmac, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventStreamModule, EventStreamService } from 'nestjs-eventstream';
import { createHttpAdapter } from '../src/http-adapter.js';

// GRIP mode loads @fanoutio/grip, an ES module only, which Jest's loader
// takes only as the README's Jest section says. No Pushpin here: a local
// server receives what the library publishes, and requests are signed as
// Pushpin signs them.
describe('nestjs-eventstream in GRIP mode in this app', () => {
  const key = randomBytes(32).toString('hex');
  const channel = 'grip-suite';
  const published: string[] = [];
  let proxy: Server;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    proxy = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        published.push(body);
        res.end('Published');
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as AddressInfo).port;
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventStreamModule.forRoot({
          databaseUrl: process.env.DATABASE_URL,
          migrate: true,
          grip: { url: `http://127.0.0.1:${proxyPort}/?iss=pushpin&key=${key}` },
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication(createHttpAdapter());
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    proxy?.close();
  });

  it('publishes a sent event to the proxy, and answers a signed request with a hold', async () => {
    const sent = await app.get(EventStreamService).sendEvent(channel, 'note', { text: 'held' });
    for (let i = 0; i < 100 && !published.some((b) => b.includes(`id: ${sent.id}`)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(published.join('\n')).toContain(`id: ${sent.id}`);

    const reply = await get(`${baseUrl}/events?channel=${channel}`, {
      'Grip-Sig': pushpinSignature(key),
      'Last-Event-ID': `${channel}:0`,
    });
    expect(reply.headers['grip-hold']).toBe('stream');
    expect(reply.body).toContain(`id: ${sent.id}`);
  }, 60_000);
});

/** A `Grip-Sig` as Pushpin makes it: an HS256 JWT with its issuer and an expiry. */
function pushpinSignature(key: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
    iss: 'pushpin',
    exp: Math.floor(Date.now() / 1000) + 3600,
  })}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

function get(url: string, headers: Record<string, string>) {
  return new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
