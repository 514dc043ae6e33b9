import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { startChatApp, type RunningChat } from './chat-app.js';

/** A system Chromium (Debian: `apt-get install chromium`); none is downloaded. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The page in a real headless Chromium: two users in two browser contexts
 * (separate cookie jars) sign in through the form and chat live.
 */
describe.skipIf(!existsSync(CHROMIUM))(`the page, in ${CHROMIUM}`, () => {
  let chat: RunningChat;
  let browser: Browser;

  beforeAll(async () => {
    chat = await startChatApp(inject('adminDatabaseUrl'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-dev-shm-usage', // containers' small /dev/shm hangs renderers
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await chat?.close();
  });

  const signIn = async (name: string): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(chat.base);
    await page.fill('#login input[name=name]', name);
    await page.click('#login button');
    await page.waitForSelector('#state:text("(open)")');
    return page;
  };
  const lines = (page: Page, list: string) => page.locator(`${list} li`);

  it('signs in, shows messages live to both users, and leaves', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');

    await alice.fill('#post input[name=text]', 'hello from alice');
    await alice.click('#post button');
    for (const page of [alice, bob]) {
      await expect
        .poll(() => lines(page, '#messages').allTextContents())
        .toContain('alice: hello from alice');
    }
    // The session token never reaches page scripts: the cookie is httpOnly.
    expect(await alice.evaluate('document.cookie')).toBe('');

    // A reload keeps the session (the cookie) and replays the room.
    await bob.reload();
    await bob.waitForSelector('#state:text("(open)")');
    await expect
      .poll(() => lines(bob, '#messages').allTextContents())
      .toContain('alice: hello from alice');

    await bob.click('#leave');
    await expect
      .poll(() => lines(bob, '#notices').allTextContents())
      .toContain('You left lobby');
    expect(await lines(bob, '#messages').count()).toBe(0);
    await expect
      .poll(() => lines(alice, '#messages').allTextContents())
      .toContain('— bob left');
  });
});
