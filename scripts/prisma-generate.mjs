// Runs `prisma generate` also where Prisma's CLI cannot download its schema
// engine (offline machines, CI): generation never executes that engine, but the
// CLI refuses to start unless PRISMA_SCHEMA_ENGINE_BINARY names an executable.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';

// Arguments pass through, e.g. `--schema <file>` for another schema.
const cli = require.resolve('prisma/build/index.js');
const args = [cli, 'generate', ...process.argv.slice(2)];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(result.status ?? 1);
