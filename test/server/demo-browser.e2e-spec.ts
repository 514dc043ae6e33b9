import type { Browser, Page } from 'playwright-core';
import { launchBrowser, waitInPage } from '../harness/browser';
import {
  READ_FEED,
  READ_NOTICE,
  READ_STATE,
  imageStats,
  say,
  type FeedItem,
} from '../harness/demo-page';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';

/** The demo page in two tabs of a real headless Chromium, on the bundled server. */
describe('the demo page in a browser', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let browser: Browser;
  let tabs: Page[];

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    tabs = [await context.newPage(), await context.newPage()];
    for (const tab of tabs) {
      await tab.goto(`${server.baseUrl}/?room=e2e`);
      await waitInPage<string>(tab, READ_STATE, (state) => state === 'open');
    }
    await tabs[0].fill('#user', 'ann');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('shows a message typed in one tab in every tab, with its channel and event id', async () => {
    await say(tabs[0], 'Hello from tab one');
    for (const tab of tabs) {
      const feed = await waitInPage<FeedItem[]>(tab, READ_FEED, (items) => items.length === 1);
      expect(feed).toEqual([
        { id: 'demo-e2e:1', user: 'ann', text: 'Hello from tab one', replayed: false },
      ]);
      expect(await tab.textContent('#channel')).toBe('demo-e2e');
      expect(await tab.textContent('#position')).toBe('demo-e2e:1');
      expect(await tab.inputValue('#text')).toBe('');
    }
  });

  it('renders a page that is not blank', async () => {
    const png = await tabs[0].screenshot();
    // The browser decodes its own screenshot.
    const stats = await tabs[1].evaluate<{ width: number; colours: number; differing: number }>(
      imageStats(png.toString('base64')),
    );
    expect(stats.width).toBe(900);
    expect(stats.colours).toBeGreaterThan(20);
    expect(stats.differing).toBeGreaterThan(0.2);
  });

  it('shows replay catching up after "disconnect for 5 s"', async () => {
    await tabs[1].click('#disconnect');
    await waitInPage<string>(tabs[1], READ_STATE, (state) => state === 'disconnected');
    await say(tabs[0], 'sent while away 1');
    await waitInPage<FeedItem[]>(tabs[0], READ_FEED, (items) => items.length === 2);
    await say(tabs[0], 'sent while away 2');
    await waitInPage<FeedItem[]>(tabs[0], READ_FEED, (items) => items.length === 3);
    expect(await tabs[1].evaluate(READ_STATE)).toBe('disconnected');
    expect(await tabs[1].evaluate(READ_FEED)).toHaveLength(1);

    const feed = await waitInPage<FeedItem[]>(
      tabs[1],
      READ_FEED,
      (items) => items.length === 3,
      30_000,
    );
    expect(feed.map(({ id, text, replayed }) => ({ id, text, replayed }))).toEqual([
      { id: 'demo-e2e:1', text: 'Hello from tab one', replayed: false },
      { id: 'demo-e2e:2', text: 'sent while away 1', replayed: true },
      { id: 'demo-e2e:3', text: 'sent while away 2', replayed: true },
    ]);
    expect(await tabs[1].textContent('#notice')).toMatch(/Caught up 2 message/);
    expect(await tabs[1].evaluate(READ_STATE)).toBe('open');

    // The tabs share one stream, which read again from where the returning
    // tab left off: the tab that stayed skips what it had, in order, so by
    // the time a new message arrives any repeat would have shown.
    await say(tabs[1], 'back');
    for (const tab of tabs) {
      const items = await waitInPage<FeedItem[]>(tab, READ_FEED, (all) => all.length >= 4);
      expect(items.map((item) => item.id)).toEqual([1, 2, 3, 4].map((n) => `demo-e2e:${n}`));
    }
  });

  it('shows why a message was refused', async () => {
    await tabs[0].fill('#user', 'ann');
    // Past the field's own limit, so that the server's is what refuses it.
    await tabs[0].evaluate(`document.getElementById('text').removeAttribute('maxlength')`);
    await say(tabs[0], 'x'.repeat(501));
    await waitInPage<string>(tabs[0], READ_NOTICE, (text) => /Not sent: .*text must be/.test(text));
  });
});
