import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { waitFor } from './wait';

/** Debian's `chromium` package (`.ci/run` installs it); never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';

/** One headless Chromium for a suite. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // Containers often give /dev/shm 64 MB, too little for Chromium's
      // renderers, which then hang or crash: /tmp instead.
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Polls a value computed in the page until `condition` holds for it. `read`
 * runs in the page: a function, or a JavaScript expression (for code that
 * needs the DOM, whose types the Node-side type check does not have).
 */
export async function waitInPage<T>(
  page: Page,
  read: (() => T) | string,
  condition: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  let last: T | undefined;
  try {
    await waitFor(async () => condition((last = (await page.evaluate(read)) as T)), timeoutMs);
  } catch {
    throw new Error(`page condition not met; last value: ${JSON.stringify(last)}`);
  }
  return last as T;
}

/** Opens `count` tabs of `url` in `context`, loading them side by side. */
export async function openTabs(
  context: BrowserContext,
  count: number,
  url: string,
): Promise<Page[]> {
  const tabs = await Promise.all(Array.from({ length: count }, () => context.newPage()));
  await Promise.all(tabs.map((tab) => tab.goto(url)));
  return tabs;
}
