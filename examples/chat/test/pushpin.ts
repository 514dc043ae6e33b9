import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STOCK_CONFIG = '/etc/pushpin/pushpin.conf';
/** The repository's script, which docker-compose.yml runs in the Pushpin container. */
const CONFIGURE = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'deploy',
  'pushpin',
  'configure.sh',
);

export const pushpinInstalled = (): boolean => existsSync(STOCK_CONFIG);

export interface RunningPushpin {
  /** Where clients connect, as port 7999 in docker-compose.yml. */
  readonly url: string;
  /** The app's GRIP_URL: the publish API and the sig key. */
  readonly gripUrl: string;
  stop(): Promise<void>;
}

/** A free loopback port (free when asked: good enough on a test machine). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Debian's Pushpin in front of `backendPort`, configured by the compose
 * setup's own configure.sh, plus what a shared test machine needs: a temp
 * run directory, free ports, and its own zurl (Debian's build expects a
 * system zurl daemon that nothing runs).
 */
export async function startPushpin(
  backendPort: number,
  sigKey: string,
): Promise<RunningPushpin> {
  const dir = await mkdtemp(join(tmpdir(), 'chat-pushpin-'));
  const [rundir, logdir] = [join(dir, 'run'), join(dir, 'log')];
  await mkdir(rundir);
  await mkdir(logdir);
  const [http, publish, pushIn, pushInSub, command] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const zurl = `ipc://${rundir}/pushpin-`;
  const config = (await readFile(STOCK_CONFIG, 'utf8'))
    .replace(/^rundir=.*$/m, `rundir=${rundir}`)
    .replace(/^logdir=.*$/m, `logdir=${logdir}`)
    .replace(
      /^services=.*$/m,
      'services=condure,zurl,pushpin-proxy,pushpin-handler',
    )
    .replace(/^http_port=.*$/m, `http_port=${http}`)
    .replace(/^push_in_http_port=.*$/m, `push_in_http_port=${publish}`)
    .replace(/^push_in_spec=.*$/m, `push_in_spec=tcp://127.0.0.1:${pushIn}`)
    .replace(
      /^push_in_sub_specs=.*$/m,
      `push_in_sub_specs=tcp://127.0.0.1:${pushInSub}`,
    )
    .replace(/^command_spec=tcp.*$/m, `command_spec=tcp://127.0.0.1:${command}`)
    .replace(/^updates_check=.*$/m, 'updates_check=off')
    .replace(
      /^\[proxy\]$/m,
      `[proxy]\nzurl_out_specs=${zurl}zurl-in\nzurl_out_stream_specs=${zurl}zurl-in-stream\nzurl_in_specs=${zurl}zurl-out`,
    );
  const configPath = join(dir, 'pushpin.conf');
  await writeFile(configPath, config);
  execFileSync('sh', [
    CONFIGURE,
    configPath,
    join(dir, 'routes'),
    `127.0.0.1:${backendPort}`,
    sigKey,
    '127.0.0.1',
  ]);
  const child: ChildProcess = spawn('pushpin', ['--config', configPath], {
    stdio: 'ignore',
  });
  return {
    url: `http://127.0.0.1:${http}`,
    gripUrl: `http://127.0.0.1:${publish}/?iss=pushpin&key=${sigKey}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
