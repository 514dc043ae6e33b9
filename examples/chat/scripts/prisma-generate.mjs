// Runs `prisma generate` also where Prisma's CLI cannot download its schema
// engine (offline machines, CI): generating never runs that engine, but the
// CLI will not start unless PRISMA_SCHEMA_ENGINE_BINARY names an executable.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';

const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
