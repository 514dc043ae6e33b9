import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ChannelAccess } from '../../src/eventstream';
import { freePorts } from '../../src/server/free-port';
import { launchBrowser, openTabs, waitInPage } from '../harness/browser';
import { startEventStream, type EventStreamInstance } from '../harness/event-stream-app';
import { countStreamRequests, startHttpApp, type HttpApp } from '../harness/http-app';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { userFromHeader } from '../harness/test-user';
import { waitFor } from '../harness/wait';

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
<script>
  // A browser without BroadcastChannel, before the client loads.
  if (new URLSearchParams(location.search).has('noBroadcastChannel')) delete window.BroadcastChannel;
</script>
<script type="module">
  import { createEventStream } from '${origin}/events/client/index.js';
  const params = new URLSearchParams(location.search);
  const log = (window.log = { received: [], states: [], errors: [] });
  const user = params.get('user');
  const stream = createEventStream('${origin}/events', {
    channels: params.getAll('channel'),
    headers: user ? { 'x-user': user } : {},
    backoff: { initialMs: 200, maxMs: 1000 },
    share: params.get('share') !== 'false',
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
  const revoked = new Set<string>();

  const startServer = () =>
    startHttpApp({
      port,
      options: {
        databaseUrl: db.url,
        cors: { origins: [`http://127.0.0.1:${otherPort}`] },
        resolveUser: userFromHeader,
        authorizer: {
          canReadChannel: (_user: unknown, channel: string): ChannelAccess =>
            channel !== 'secret' && !revoked.has(channel),
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
  describe('tabs sharing one connection', () => {
    const ids = (channel: string, from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `${channel}:${from + i}`);
    const received = async (tab: Page) => (await tab.evaluate(readLog)).received.map((r) => r.id);
    /** Measured on the server: the streams its hub holds open (direct mode). */
    const openStreams = () => server?.hub.size ?? -1;
    const settleAt = async (streams: number) => {
      await waitFor(() => openStreams() === streams);
      // A stream opened late would show within a few hundred ms.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(openStreams()).toBe(streams);
    };
    let tabs: Page[] = [];

    beforeAll(async () => {
      await waitFor(() => openStreams() === 0);
      // The first tab leads: it holds the lock before the others ask for it.
      tabs = [await openPage('channel=tabs')];
      await waitInPage(tabs[0], readLog, (log) => log?.states.includes('open'));
      tabs.push(
        ...(await openTabs(context, 9, `http://127.0.0.1:${port}/client-test?channel=tabs`)),
      );
      for (const tab of tabs)
        await waitInPage(tab, readLog, (log) => log?.states.at(-1) === 'open');
    });
    afterAll(async () => {
      for (const tab of tabs) await tab.close();
    });

    it('keeps one stream open on the server for ten tabs, and every tab gets every event', async () => {
      await settleAt(1);
      expect(requests.get('tabs')).toBe(1);
      for (const n of [1, 2, 3, 4, 5]) await send('tabs', { n });
      for (const tab of tabs) {
        await waitInPage(tab, readLog, (log) => log.received.length >= 5);
        expect((await tab.evaluate(readLog)).received).toEqual(
          [1, 2, 3, 4, 5].map((n) => ({ id: `tabs:${n}`, data: { n } })),
        );
      }
    });

    it('hands over when the leading tab closes, while events keep coming: none lost or repeated', async () => {
      const leader = tabs.shift() as Page;
      let sent = 5;
      const publishing = (async () => {
        while (sent < 45) {
          await send('tabs', { n: ++sent });
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      while (sent < 15) await new Promise((resolve) => setTimeout(resolve, 5));
      await leader.close();
      await publishing;
      for (const tab of tabs) {
        await waitInPage(tab, readLog, (log) => log.received.length >= 45);
        expect(await received(tab)).toEqual(ids('tabs', 1, 45));
        // Through the hand-over, as through a reconnect.
        expect((await tab.evaluate(readLog)).states.at(-1)).toBe('open');
      }
      await settleAt(1);
      expect(requests.get('tabs')).toBe(2);
    });

    it('brings a revocation to every tab as to a stream of its own, and none reconnects', async () => {
      const query = 'channel=revocable&user=u9';
      const shared = [await openPage(query)];
      await waitInPage(shared[0], readLog, (log) => log?.states.includes('open'));
      shared.push(await openPage(query), await openPage(query));
      const alone = await openPage(`${query}&share=false`);
      for (const tab of [...shared, alone]) {
        await waitInPage(tab, readLog, (log) => log?.states.at(-1) === 'open');
      }
      expect(requests.get('revocable')).toBe(2);

      revoked.add('revocable');
      await server?.events.channelPermissionChanged('u9', 'revocable');
      const logs = [];
      for (const tab of [alone, ...shared]) {
        logs.push(await waitInPage(tab, readLog, (log) => log.errors.length > 0));
      }
      expect(logs[0].states).toEqual(['open', 'closed']);
      expect(logs[0].errors).toEqual([expect.objectContaining({ terminal: true, status: 200 })]);
      for (const log of logs) expect(log).toEqual(logs[0]);
      // No tab takes the lead to try again.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(requests.get('revocable')).toBe(2);
      for (const tab of [...shared, alone]) await tab.close();
    });

    it('gives a stream with share: false a connection of its own', async () => {
      const own = await openPage('channel=tabs&share=false');
      await waitInPage(own, readLog, (log) => log?.states.includes('open'));
      await settleAt(2);
      await send('tabs', { n: 46 });
      await waitInPage(own, readLog, (log) => log.received.length === 1);
      expect(await received(own)).toEqual(['tabs:46']);
      await own.close();
      await settleAt(1);
    });

    it('falls back to a stream of its own without BroadcastChannel', async () => {
      const alone = await openPage('channel=tabs&noBroadcastChannel');
      expect(await alone.evaluate(() => typeof globalThis.BroadcastChannel)).toBe('undefined');
      await waitInPage(alone, readLog, (log) => log?.states.includes('open'));
      await settleAt(2);
      await send('tabs', { n: 47 });
      await waitInPage(alone, readLog, (log) => log.received.length === 1);
      expect(await received(alone)).toEqual(['tabs:47']);
      for (const tab of tabs) {
        await waitInPage(tab, readLog, (log) => log.received.length >= 47);
        expect(await received(tab)).toEqual(ids('tabs', 1, 47));
      }
      await alone.close();
      await settleAt(1);
    });
  });
});
