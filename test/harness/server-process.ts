import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../src/server/free-port';

const SERVER = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ServerProcess {
  readonly baseUrl: string;
  readonly output: () => string;
  stop(): Promise<number | null>;
  /** Kills it at once (SIGKILL): no shutdown, open requests and streams just cut. */
  kill(): Promise<void>;
}

/**
 * Runs the bundled server (`dist/main.js`, built by `npm test`, or another
 * build of `src/main.ts`: `script`) as `npm start` would.
 */
export async function startServerProcess(
  env: Record<string, string>,
  port?: number,
  script = SERVER,
): Promise<ServerProcess> {
  port ??= await freePort();
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { ...process.env, DATABASE_URL: '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes('Listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
