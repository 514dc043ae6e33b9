import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/server/embedded-postgres';
import { ADMIN_URL_VARIABLE } from './postgres';

/**
 * One Postgres for the whole run: `DATABASE_URL` when it is set, otherwise an
 * embedded one. Each suite then creates its own database in it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env[ADMIN_URL_VARIABLE] = process.env.DATABASE_URL;
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'eventstream-test-pg-'));
  const postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
  process.env[ADMIN_URL_VARIABLE] = postgres.url;
  (globalThis as { embeddedPostgres?: typeof postgres }).embeddedPostgres = postgres;
}
