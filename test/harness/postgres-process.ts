import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface PostgresProcess {
  /** URL of the `postgres` database as the superuser. */
  readonly url: string;
  /** Stops the server (a fast shutdown: open connections are cut), keeping its files. */
  stop(): Promise<void>;
}

const SCRIPT = join(__dirname, 'postgres-server.mjs');

/**
 * Starts a PostgreSQL of its own on `port`, with its files in `dataDir`
 * (created on first start, kept by `stop`, so a second start is a restart).
 * Needs the build (`dist/`), as `npm test` makes it.
 */
export async function startPostgresProcess(
  dataDir: string,
  port: number,
): Promise<PostgresProcess> {
  const child = spawn(process.execPath, [SCRIPT, dataDir, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /READY (\S+)/.exec(output);
      if (ready) resolve(ready[1]);
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`Postgres did not start:\n${output}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
