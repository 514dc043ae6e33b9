import type { Browser, Page } from 'playwright-core';
import { launchBrowser, waitInPage } from '../harness/browser';
import { READ_FEED, READ_STATE, say, type FeedItem } from '../harness/demo-page';
import { startGripServer, type BehindPushpin } from '../harness/grip-app';
import type { RunningPushpin } from '../harness/pushpin';
import type { ServerProcess } from '../harness/server-process';

/**
 * The demo and its client through a real Pushpin (GRIP mode), as
 * docker-compose runs it with EVENTSTREAM_DEMO=on: the page, the client script
 * and the streams all come through the proxy.
 */
describe('the demo page in a browser, through Pushpin', () => {
  let pushpin: RunningPushpin;
  let stack: BehindPushpin<ServerProcess>;
  let browser: Browser;
  let tabs: Page[];

  beforeAll(async () => {
    stack = await startGripServer();
    ({ pushpin } = stack);
    browser = await launchBrowser();
    const context = await browser.newContext();
    tabs = [await context.newPage(), await context.newPage()];
    for (const tab of tabs) {
      await tab.goto(`${pushpin.url}/?room=grip`);
      await waitInPage<string>(tab, READ_STATE, (state) => state === 'open');
    }
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('delivers a message to every tab, and replays what a disconnected tab missed', async () => {
    await say(tabs[0], 'through pushpin');
    for (const tab of tabs) {
      await waitInPage<FeedItem[]>(tab, READ_FEED, (items) => items.length === 1);
    }

    await tabs[1].click('#disconnect');
    await waitInPage<string>(tabs[1], READ_STATE, (state) => state === 'disconnected');
    await say(tabs[0], 'missed 1');
    await waitInPage<FeedItem[]>(tabs[0], READ_FEED, (items) => items.length === 2);
    await say(tabs[0], 'missed 2');

    const feed = await waitInPage<FeedItem[]>(
      tabs[1],
      READ_FEED,
      (items) => items.length === 3,
      30_000,
    );
    expect(feed.map(({ id, text, replayed }) => ({ id, text, replayed }))).toEqual([
      { id: 'demo-grip:1', text: 'through pushpin', replayed: false },
      { id: 'demo-grip:2', text: 'missed 1', replayed: true },
      { id: 'demo-grip:3', text: 'missed 2', replayed: true },
    ]);
    const first = await waitInPage<FeedItem[]>(tabs[0], READ_FEED, (items) => items.length === 3);
    expect(first.map((item) => item.id)).toEqual(['demo-grip:1', 'demo-grip:2', 'demo-grip:3']);
  });
});
