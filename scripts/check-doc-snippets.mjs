// Type-checks every TypeScript code block of the README and docs/ against the
// library's public entry points, so an example cannot drift from the API.
// A block that is deliberately partial is preceded by the line
// `<!-- snippet: partial -->` and is skipped; every other `ts` block must
// compile on its own, as a module.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, '.doc-snippets');
const PARTIAL = '<!-- snippet: partial -->';
const require = createRequire(import.meta.url);

function markdownFiles() {
  const files = [join(ROOT, 'README.md')];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  if (existsSync(join(ROOT, 'docs'))) walk(join(ROOT, 'docs'));
  return files;
}

/** Every `ts` block: its text, and the line of the Markdown file it starts on. */
function snippets(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(ts|typescript)\b/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    if (lines[before]?.trim() !== PARTIAL) {
      found.push({ line: start + 1, text: lines.slice(start, end).join('\n') });
    }
    i = end;
  }
  return found;
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT);
const origin = new Map();
let count = 0;
for (const file of markdownFiles()) {
  for (const snippet of snippets(file)) {
    const name = `snippet-${++count}.ts`;
    origin.set(name, { file: relative(ROOT, file), line: snippet.line });
    // `export {}`: each block is a module of its own, whatever it declares.
    writeFileSync(join(OUT, name), `${snippet.text}\nexport {};\n`);
  }
}
writeFileSync(
  join(OUT, 'tsconfig.json'),
  JSON.stringify({
    extends: '../tsconfig.json',
    compilerOptions: {
      noEmit: true,
      rootDir: '..',
      // Examples may leave things unused; everything else is as strict as the library.
      noUnusedLocals: false,
      noUnusedParameters: false,
      types: ['node'],
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
      paths: sourcesOfEntryPoints(),
    },
    include: ['*.ts'],
  }),
);
/**
 * `nestjs-eventstream` and each of its subpaths, read from package.json
 * `exports`, mapped to the source their declarations are built from
 * (`./dist/x/index.d.ts` from `src/x/index.ts`), so a sample may import what
 * the package exports and nothing else.
 */
function sourcesOfEntryPoints() {
  const { name, exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const paths = {};
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target !== 'object' || !target.types) continue;
    const source = target.types.replace(/^\.\/dist\//, '../src/').replace(/\.d\.ts$/, '.ts');
    paths[subpath === '.' ? name : `${name}${subpath.slice(1)}`] = [source];
  }
  return paths;
}

const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(
  process.execPath,
  [tsc, '-p', join(OUT, 'tsconfig.json'), '--pretty', 'false'],
  {
    encoding: 'utf8',
  },
);
const report = `${result.stdout}${result.stderr}`.replace(
  /(?:\.doc-snippets\/)?(snippet-\d+\.ts)\((\d+),(\d+)\)/g,
  (_, name, line, column) => {
    const at = origin.get(name);
    return at ? `${at.file}:${at.line + Number(line) - 1}:${column}` : `${name}(${line},${column})`;
  },
);
if (result.status !== 0) {
  process.stderr.write(report);
  process.stderr.write(`\n${count} code blocks checked: some do not compile (see above).\n`);
  process.exit(1);
}
rmSync(OUT, { recursive: true, force: true });
console.log(`${count} TypeScript code blocks in the README and docs/ compile.`);
