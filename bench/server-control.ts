import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type {
  ServerCommand,
  ServerMemory,
  ServerReply,
  ServerStats,
  StartOptions,
} from './server-protocol';

/** A server process (server.ts) and the commands it takes. */
export class ServerProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ServerReply) => void>();
  private exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: ServerReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    void this.exited.then((code) => {
      for (const wake of this.waiting.values()) wake({ id: -1, error: `server exited (${code})` });
      this.waiting.clear();
    });
  }

  /**
   * Forks a server. `BENCH_PROFILE=1` writes a CPU profile of it to
   * bench/results/profiles/ (open it in Chrome's DevTools).
   */
  static async start(
    options: StartOptions,
    profileName?: string,
  ): Promise<{ server: ServerProcess; appPort?: number; rawPort: number }> {
    const profile =
      process.env.BENCH_PROFILE && profileName
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${join(process.cwd(), 'bench', 'results', 'profiles')}`,
            `--cpu-prof-name=${profileName}.cpuprofile`,
          ]
        : [];
    const child = fork(join(__dirname, 'server.js'), [], {
      execArgv: ['--expose-gc', '--enable-source-maps', ...profile],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const server = new ServerProcess(child);
    const ports = (await server.call({ cmd: 'start', options })) as {
      appPort?: number;
      rawPort: number;
    };
    return { server, ...ports };
  }

  call(command: ServerCommand): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) =>
        reply.error === undefined ? resolve(reply.result) : reject(new Error(reply.error)),
      );
      this.child.send({ id, command });
    });
  }

  stats(): Promise<ServerStats> {
    return this.call({ cmd: 'stats' }) as Promise<ServerStats>;
  }

  /** After GC; `settled`: also once the heap has shrunk back after a burst (see server.ts). */
  memory(options: { settled?: boolean } = {}): Promise<ServerMemory> {
    return this.call({ cmd: 'memory', ...options }) as Promise<ServerMemory>;
  }

  async stop(): Promise<void> {
    await this.call({ cmd: 'stop' }).catch(() => undefined);
    // Exiting (rather than being killed) is what writes a CPU profile.
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
