// Checks every internal link of the built manual (docs/.vitepress/dist) and
// every link from the README into docs/: the page must exist, and so must the
// anchor. VitePress itself fails the build on a missing page, not on a
// missing anchor.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'docs', '.vitepress', 'dist');
if (!existsSync(DIST)) {
  console.error('Build the manual first: npm run docs:build');
  process.exit(1);
}

const decode = (text) =>
  decodeURIComponent(
    text
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'"),
  );
const pages = new Map();
for (const entry of readdirSync(DIST, { recursive: true })) {
  if (!String(entry).endsWith('.html')) continue;
  const html = readFileSync(join(DIST, String(entry)), 'utf8');
  const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => decode(m[1])));
  pages.set(join(DIST, String(entry)), { html, ids });
}

const problems = [];
function check(from, target, where) {
  const [path, anchor] = target.split('#');
  let file = path === '' ? from : resolve(dirname(from), path);
  if (file.endsWith('.md')) file = file.replace(/\.md$/, '.html');
  if (!file.endsWith('.html')) file += '.html';
  const page = pages.get(file);
  if (!page) return problems.push(`${where}: ${target}: no such page`);
  if (anchor && !page.ids.has(decode(anchor))) problems.push(`${where}: ${target}: no such anchor`);
}

for (const [file, { html }] of pages) {
  // Only the page's own content: the theme's navigation links are its own.
  const content = /<main[\s\S]*<\/main>/.exec(html)?.[0] ?? '';
  for (const [, href] of content.matchAll(/\shref="([^"]+)"/g)) {
    if (/^[a-z]+:|^\/\//i.test(href)) continue;
    const target = href.startsWith('/') ? relative(dirname(file), join(DIST, href)) || '' : href;
    check(file, target, relative(DIST, file));
  }
}

// The README is the front door on GitHub: its links into docs/ must hold too.
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
for (const [, target] of readme.matchAll(/\]\((docs\/[^)\s]+)\)/g)) {
  check(join(DIST, 'README.html'), target.replace(/^docs\//, ''), 'README.md');
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} broken links in the manual.`);
  process.exit(1);
}
console.log(`Links of ${pages.size} pages and the README checked: none broken.`);
