import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLATFORMS, startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';

/** Runs on the build (`npm test` builds first): the files served are dist/client's. */
describe.each(PLATFORMS)('the browser client served by the module on %s', (platform) => {
  let db: TestDatabase;
  let app: HttpApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startHttpApp({ platform, options: { databaseUrl: db.url }, path: 'sse' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('serves the built ES modules under <path>/client/, cacheable and revalidated by ETag', async () => {
    const response = await fetch(`${app.baseUrl}/sse/client/index.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const built = await readFile(join(__dirname, '..', '..', 'dist', 'client', 'index.js'), 'utf8');
    expect(await response.text()).toBe(built);

    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${app.baseUrl}/sse/client/index.js`, {
      headers: { 'If-None-Match': etag ?? '' },
    });
    expect(again.status).toBe(304);

    // What index.js imports resolves beside it.
    const imported = [...built.matchAll(/from '\.\/([\w.-]+)'/g)].map((m) => m[1]);
    expect(imported).toContain('event-stream.js');
    for (const name of imported) {
      expect((await fetch(`${app.baseUrl}/sse/client/${name}`)).status).toBe(200);
    }
  });

  it('answers 404 with JSON for anything else, and the stream route is unchanged', async () => {
    for (const name of ['nope.js', 'index.d.ts', 'package.json', '..%2F..%2Fpackage.json']) {
      const response = await fetch(`${app.baseUrl}/sse/client/${name}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ statusCode: 404, error: 'not-found' });
    }
    const stream = await fetch(`${app.baseUrl}/sse?channel=client`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.body?.cancel();
    expect((await fetch(`${app.baseUrl}/sse/client`)).status).toBe(404);
  });
});
