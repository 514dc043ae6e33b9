import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openTabs, waitInPage } from '../harness/browser';
import { READ_FEED, READ_PRESENCE, READ_STATE, say, type FeedItem } from '../harness/demo-page';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';
import { startServerProcess, type ServerProcess } from '../harness/server-process';
import { waitFor } from '../harness/wait';

const TABS = 10;

/**
 * Ten tabs of the demo page in one browser, on the bundled server: they
 * share one stream, which the server's own count shows.
 */
describe('the demo page in ten tabs of one browser', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let browser: Browser;
  let tabs: Page[];

  /**
   * The streams the server holds open: its `eventstream_open_streams` gauge
   * (direct mode), read from `GET /metrics`.
   */
  const openStreams = async (): Promise<number> => {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const line = /^eventstream_open_streams (\d+)$/m.exec(text);
    if (!line) throw new Error(`no eventstream_open_streams in /metrics:\n${text}`);
    return Number(line[1]);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url, EVENTSTREAM_METRICS: 'on' });
    browser = await launchBrowser();
    const context = await browser.newContext();
    tabs = await openTabs(context, TABS, `${server.baseUrl}/?room=tabs`);
    for (const tab of tabs) await waitInPage<string>(tab, READ_STATE, (state) => state === 'open');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('keeps one stream open on the server, and shows every message in every tab', async () => {
    await waitFor(async () => (await openStreams()) === 1);
    // Seven tabs of their own would not even connect: Chromium opens at most
    // six HTTP/1.1 connections to an origin.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await openStreams()).toBe(1);

    await say(tabs[0], 'one');
    await say(tabs[TABS - 1], 'two');
    for (const tab of tabs) {
      const feed = await waitInPage<FeedItem[]>(tab, READ_FEED, (items) => items.length >= 2);
      expect(feed.map(({ id, text }) => ({ id, text }))).toEqual([
        { id: 'demo-tabs:1', text: 'one' },
        { id: 'demo-tabs:2', text: 'two' },
      ]);
    }
  });

  it('shows presence where the server has it, and hides the line where it does not', async () => {
    const response = await fetch(`${server.baseUrl}/events/presence?channel=demo-tabs`);
    if (response.status === 404) {
      await response.body?.cancel();
      for (const tab of tabs) expect(await tab.evaluate(READ_PRESENCE)).toBeNull();
      expect(await tabs[0].evaluate(READ_STATE)).toBe('open');
      return;
    }
    expect(await response.json()).toMatchObject({ channel: 'demo-tabs', streams: 1 });
    for (const tab of tabs) {
      await waitInPage<string | null>(tab, READ_PRESENCE, (text) => text === '1 here');
    }
  });
});
