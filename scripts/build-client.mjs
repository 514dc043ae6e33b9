// Builds the browser client (src/client) into dist/client as ES modules with
// .d.ts. The package itself is CommonJS, so a package.json marks that folder
// as ES modules, for Node and for TypeScript's resolution alike.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.client.json'], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync('dist/client/package.json', `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
