import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ChannelAccess } from '../../src/eventstream';
import { freePorts } from '../../src/server/free-port';
import { launchBrowser, waitInPage } from '../harness/browser';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { countStreamRequests, startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { userFromHeader } from '../harness/test-user';

interface PageLog {
  received: { id: string | undefined; data: unknown }[];
  states: string[];
  errors: { condition: string; status?: number; terminal: boolean }[];
}

/**
 * A plain HTML page, as a user would write one: it imports the client the
 * module serves, with `<script type="module">`, from the server at `origin`
 * (empty: its own).
 */
const page = (origin = '') => `<!doctype html>
<html><head><meta charset="utf-8"><title>client test</title></head><body>
<script type="module">
  import { createEventStream } from '${origin}/events/client/index.js';
  const params = new URLSearchParams(location.search);
  const log = (window.log = { received: [], states: [], errors: [] });
  const user = params.get('user');
  const stream = createEventStream('${origin}/events', {
    channels: params.getAll('channel'),
    headers: user ? { 'x-user': user } : {},
    backoff: { initialMs: 200, maxMs: 1000 },
    onStateChange: (state) => log.states.push(state),
    onError: (e) => log.errors.push({ condition: e.condition, status: e.status, terminal: e.terminal }),
  });
  stream.on('m', (data, event) => log.received.push({ id: event.id, data }));
</script>
</body></html>`;

/** Runs in the page (serialised by Playwright): what the page recorded. */
const readLog = (): PageLog => (globalThis as unknown as { log: PageLog }).log;

/** The client in a real headless Chromium, against the module over real sockets. */
describe('the client in a browser', () => {
  let db: TestDatabase;
  let browser: Browser;
  let context: BrowserContext;
  let server: HttpApp | undefined;
  let port: number;
  /** A site of another origin, whose page uses the server across origins. */
  let otherSite: Server;
  let otherPort: number;
  let writer: EventStreamInstance;
  const requests = new Map<string, number>();

  const startServer = () =>
    startHttpApp({
      port,
      options: {
        databaseUrl: db.url,
        cors: { origins: [`http://127.0.0.1:${otherPort}`] },
        resolveUser: userFromHeader,
        authorizer: {
          canReadChannel: (_user: unknown, channel: string): ChannelAccess => channel !== 'secret',
        },
      },
      configure: (app) => app.use(countStreamRequests(requests)),
    });

  const openPage = async (query: string, origin = `http://127.0.0.1:${port}`): Promise<Page> => {
    const tab = await context.newPage();
    await tab.goto(`${origin}/client-test?${query}`);
    return tab;
  };
  const send = (channel: string, data: unknown) => writer.events.sendEvent(channel, 'm', data);

  beforeAll(async () => {
    db = await createTestDatabase();
    writer = await startEventStream({ databaseUrl: db.url });
    [port, otherPort] = await freePorts(2);
    server = await startServer();
    otherSite = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(page(`http://127.0.0.1:${port}`));
    });
    await new Promise<void>((resolve) => otherSite.listen(otherPort, '127.0.0.1', resolve));
    browser = await launchBrowser();
    context = await browser.newContext();
    // The page itself comes from the test; everything it loads after comes
    // from the server, on the same origin.
    await context.route(`http://127.0.0.1:${port}/client-test*`, (route) =>
      route.fulfill({ contentType: 'text/html; charset=utf-8', body: page() }),
    );
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => otherSite?.close(resolve));
    await server?.close();
    await writer?.close();
    await db?.drop();
  });

  it('connects, receives decoded events, and survives a server restart without losing one', async () => {
    const tab = await openPage('channel=browser');
    await waitInPage(tab, readLog, (log) => log?.states.includes('open'));
    for (const n of [1, 2, 3]) await send('browser', { n });
    await waitInPage(tab, readLog, (log) => log.received.length === 3);

    await server?.close();
    server = undefined;
    for (const n of [4, 5, 6]) await send('browser', { n });
    await waitInPage(tab, readLog, (log) => log.errors.length >= 2);
    server = await startServer();
    for (const n of [7, 8, 9]) await send('browser', { n });

    const log = await waitInPage(tab, readLog, (l) => l.received.length >= 9);
    expect(log.received).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ id: `browser:${n}`, data: { n } })),
    );
    expect(log.states).toEqual(['open', 'reconnecting', 'open']);
    expect(log.errors.every((e) => !e.terminal)).toBe(true);
    await tab.close();
  });

  it('stops on 403, without retrying', async () => {
    const tab = await openPage('channel=secret&user=u1');
    const log = await waitInPage(tab, readLog, (l) => l?.states.includes('closed'));
    expect(log.errors).toEqual([{ condition: 'forbidden', status: 403, terminal: true }]);
    // A retry would come within the first backoff delay (at most 200 ms here).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(requests.get('secret')).toBe(1);
    expect((await tab.evaluate(readLog)).states).toEqual(['closed']);
    await tab.close();
  });

  it('works from a page of another origin, importing the script and streaming across origins', async () => {
    const tab = await openPage('channel=cross', `http://127.0.0.1:${otherPort}`);
    await waitInPage(tab, readLog, (log) => log?.states.includes('open'));
    await send('cross', 'over CORS');
    const log = await waitInPage(tab, readLog, (l) => l.received.length === 1);
    expect(log.received).toEqual([{ id: 'cross:1', data: 'over CORS' }]);
    await tab.close();
  });
});
