import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../src/server/free-port';

const STOCK_CONFIG = '/etc/pushpin/pushpin.conf';
/** Gives a Pushpin config this project's settings; docker-compose.yml runs it too. */
export const CONFIGURE = join(__dirname, '..', '..', 'deploy', 'pushpin', 'configure.sh');
export const PUSHPIN_INSTALL_HINT =
  "Pushpin is not installed: run `apt-get install -y pushpin` (Debian's package; .ci/run does).";

export interface PushpinOptions {
  /**
   * The app behind Pushpin, on loopback; several instances' ports: Pushpin
   * tries them in this order, the next when one refuses the connection.
   */
  readonly backendPort: number | readonly number[];
  /** Pushpin signs proxied requests with this key (`Grip-Sig`). */
  readonly sigKey: string;
  /**
   * Serve the app under this path prefix only, stripped before requests
   * reach it (a route with `path_beg` and `replace_beg`), e.g. `/stream`.
   */
  readonly pathPrefix?: string;
  /** How long Pushpin holds items after a prev-id gap before it recovers; stock: 5000. */
  readonly messageWaitMs?: number;
  /** Settings of the stock config to change, by name, e.g. `{ message_rate: 100000 }`. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

export interface RunningPushpin {
  /** Where clients connect: `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Pushpin's HTTP publish API: `http://127.0.0.1:PORT`. */
  readonly publishUrl: string;
  /** A GRIP URL for the app: publish API plus the signature key. */
  readonly gripUrl: string;
  /** Where it publishes its statistics (`stats_spec`), for `grip.stats`. */
  readonly statsUrl: string;
  stop(): Promise<void>;
  /** Stops and starts it again on the same ports. */
  restart(): Promise<void>;
  /** Stops it, keeping its config, until `up`. */
  down(): Promise<void>;
  /** Kills every Pushpin process at once (SIGKILL), keeping its config, until `up`. */
  kill(): Promise<void>;
  /** Starts it again on the same ports after `down`. */
  up(): Promise<void>;
  /**
   * Stops every Pushpin process (SIGSTOP) without closing a socket, as a
   * host that hangs or drops off the network would, until `thaw`.
   */
  freeze(): void;
  thaw(): void;
  logs(): Promise<string>;
}

export function pushpinInstalled(): boolean {
  if (!existsSync(STOCK_CONFIG)) return false;
  try {
    execFileSync('pushpin', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts Debian's Pushpin from a config of its own in a temp dir, on free
 * loopback ports, in front of `backendPort`. Debian's build points its
 * outgoing HTTP client at a system zurl daemon that nothing runs, so this
 * config runs its own zurl and points the proxy at it.
 */
export async function startPushpin(options: PushpinOptions): Promise<RunningPushpin> {
  if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
  const dir = await mkdtemp(join(tmpdir(), 'eventstream-pushpin-'));
  const [rundir, logdir] = [join(dir, 'run'), join(dir, 'log')];
  await mkdir(rundir);
  await mkdir(logdir);
  const [http, publish, pushIn, pushInSub, command, stats] = await freePorts(6);
  const ports = { http, publish, pushIn, pushInSub, command, stats };
  const statsUrl = `tcp://127.0.0.1:${ports.stats}`;
  const zurl = `ipc://${rundir}/pushpin-`;
  const config = (await readFile(STOCK_CONFIG, 'utf8'))
    .replace(/^rundir=.*$/m, `rundir=${rundir}`)
    .replace(/^logdir=.*$/m, `logdir=${logdir}`)
    .replace(/^services=.*$/m, 'services=condure,zurl,pushpin-proxy,pushpin-handler')
    .replace(/^http_port=.*$/m, `http_port=${ports.http}`)
    .replace(/^push_in_http_port=.*$/m, `push_in_http_port=${ports.publish}`)
    .replace(/^push_in_spec=.*$/m, `push_in_spec=tcp://127.0.0.1:${ports.pushIn}`)
    .replace(/^push_in_sub_specs=.*$/m, `push_in_sub_specs=tcp://127.0.0.1:${ports.pushInSub}`)
    .replace(/^command_spec=tcp.*$/m, `command_spec=tcp://127.0.0.1:${ports.command}`)
    .replace(/^updates_check=.*$/m, 'updates_check=off')
    .replace(/^message_wait=.*$/m, `message_wait=${options.messageWaitMs ?? 5000}`)
    .replace(
      /^\[proxy\]$/m,
      [
        '[proxy]',
        `zurl_out_specs=${zurl}zurl-in`,
        `zurl_out_stream_specs=${zurl}zurl-in-stream`,
        `zurl_in_specs=${zurl}zurl-out`,
      ].join('\n'),
    );
  const configPath = join(dir, 'pushpin.conf');
  await writeFile(configPath, config);
  // The settings docker-compose.yml gives Pushpin too: its sig key and routes.
  const routesPath = join(dir, 'routes');
  const backend = [options.backendPort]
    .flat()
    .map((port) => `127.0.0.1:${port}`)
    .join(' ');
  execFileSync('sh', [
    CONFIGURE,
    configPath,
    routesPath,
    backend,
    options.sigKey,
    '127.0.0.1',
    statsUrl,
  ]);
  // After the project's settings, so that a suite may change those too.
  await writeFile(
    configPath,
    withSettings(await readFile(configPath, 'utf8'), options.settings ?? {}),
  );
  if (options.pathPrefix) {
    await writeFile(routesPath, `*,path_beg=${options.pathPrefix}/,replace_beg=/ ${backend}\n`);
  }
  // Ahead of the app's route (the longest path_beg wins): an origin that holds
  // every request, so readiness covers the proxy's hand-over to the handler.
  const readiness = await startReadinessOrigin();
  await writeFile(
    routesPath,
    `*,path_beg=${READY_PATH} 127.0.0.1:${readiness.port}\n${await readFile(routesPath, 'utf8')}`,
  );

  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('pushpin', ['--config', configPath], { stdio: 'ignore', detached: false });
    await Promise.all([waitForPort(ports.http), waitForPort(ports.publish)]);
    await waitForHold(`http://127.0.0.1:${ports.http}${READY_PATH}`);
  };
  let frozen = false;
  const signal = (running: ChildProcess | undefined, name: 'SIGSTOP' | 'SIGCONT') => {
    if (!running?.pid) throw new Error('Pushpin is not running');
    for (const pid of [running.pid, ...processesOf(running.pid)]) process.kill(pid, name);
    frozen = name === 'SIGSTOP';
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    // A frozen Pushpin would neither stop nor let its services go.
    if (frozen) signal(running, 'SIGCONT');
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running?.pid || running.exitCode !== null) return;
    // The runner starts each service in a process group of its own: kill
    // them one by one, with the runner, so none can tidy up.
    const services = processesOf(running.pid);
    const exited = new Promise((resolve) => running.once('exit', resolve));
    for (const pid of [running.pid, ...services]) process.kill(pid, 'SIGKILL');
    await exited;
    await waitUntilGone(services);
  };
  try {
    await launch();
  } catch (error) {
    readiness.server.close();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${ports.http}`,
    publishUrl: `http://127.0.0.1:${ports.publish}`,
    gripUrl: `http://127.0.0.1:${ports.publish}/?iss=pushpin&key=${options.sigKey}`,
    statsUrl,
    stop: async () => {
      await stop();
      await new Promise((resolve) => readiness.server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stop();
      await launch();
    },
    down: stop,
    kill,
    up: launch,
    freeze: () => signal(child, 'SIGSTOP'),
    thaw: () => signal(child, 'SIGCONT'),
    logs: async () => {
      const { readdir } = await import('node:fs/promises');
      const files = await readdir(logdir);
      const texts = await Promise.all(files.map((f) => readFile(join(logdir, f), 'utf8')));
      return texts.join('\n');
    },
  };
}

function withSettings(config: string, settings: Readonly<Record<string, string | number>>) {
  for (const [name, value] of Object.entries(settings)) {
    const line = new RegExp(`^${name}=.*$`, 'm');
    if (!line.test(config)) throw new Error(`Pushpin's config has no setting ${name}`);
    config = config.replace(line, `${name}=${value}`);
  }
  return config;
}

const READY_PATH = '/pushpin-harness-ready';

async function startReadinessOrigin(): Promise<{ server: Server; port: number }> {
  const server = createServer((_, response) => {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Grip-Hold': 'stream',
      'Grip-Channel': 'pushpin-harness-ready',
    });
    response.end(':ready\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Open ports are not enough: until its proxy and handler are up, Pushpin
 * accepts connections without answering, and until the handler has
 * connected to the proxy, it answers a GRIP hold with 500 "Accept service
 * unavailable". Ready is when a request to an origin that holds it is held.
 */
async function waitForHold(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.ok) return;
      last = `${response.status} ${response.statusText}`;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`Pushpin did not hold a stream at ${url}: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`Pushpin did not open port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The processes `pid` started. */
export function processesOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function waitUntilGone(pids: readonly number[], timeoutMs = 5_000): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline)
      throw new Error(`Pushpin processes ${pids.join(', ')} outlived SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
