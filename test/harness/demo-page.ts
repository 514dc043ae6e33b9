import type { Page } from 'playwright-core';

/** What the tests read from the demo page (src/server/demo/demo-page.ts). */

export interface FeedItem {
  readonly id: string;
  readonly user: string;
  readonly text: string;
  readonly replayed: boolean;
}

// Code that runs in the page, as JavaScript: the DOM's types are not part of
// the Node-side type check.

/** The feed, oldest first, as `FeedItem[]`. */
export const READ_FEED = `[...document.querySelectorAll('#feed li.message')].reverse().map((item) => ({
  id: item.dataset.id,
  user: item.querySelector('.user').textContent,
  text: item.querySelector('.text').textContent,
  replayed: item.classList.contains('replayed'),
}))`;
export const READ_STATE = `document.getElementById('state').textContent`;
export const READ_NOTICE = `document.getElementById('notice').textContent`;
/** The presence line: its text, or null while it is hidden. */
export const READ_PRESENCE = `(() => {
  const line = document.getElementById('presence');
  return line.hidden ? null : line.textContent;
})()`;

/**
 * Decodes a PNG in the page: its width, how many colours it has, and the
 * share of pixels that differ from its top-left one (the background).
 */
export const imageStats = (base64: string) => `(async () => {
  const image = new Image();
  image.src = 'data:image/png;base64,${base64}';
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, image.width, image.height);
  const background = (data[0] << 16) | (data[1] << 8) | data[2];
  const colours = new Set();
  let differing = 0;
  for (let i = 0; i < data.length; i += 4) {
    const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    colours.add(rgb);
    if (rgb !== background) differing++;
  }
  return { width: image.width, colours: colours.size, differing: differing / (data.length / 4) };
})()`;

/** Types a message in a tab and sends it. */
export async function say(tab: Page, text: string): Promise<void> {
  await tab.fill('#text', text);
  await tab.click('#send');
}
