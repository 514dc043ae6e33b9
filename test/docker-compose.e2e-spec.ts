import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const COMPOSE_FILE = join(__dirname, '..', 'docker-compose.yml');
const SIG_KEY = 'compose-sig-key-0123456789abcdefghijklmnop';

/**
 * No Docker engine runs on CI machines, so the stack itself cannot start
 * there; Compose can still read the file and interpolate it, as `docker
 * compose up` would before it starts anything.
 */
describe('docker-compose.yml, as Compose reads it', () => {
  const config = (env: Record<string, string>, ...args: string[]) =>
    run('docker-compose', ['-f', COMPOSE_FILE, 'config', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });

  it('is a valid Compose file with the three services', async () => {
    const { stdout } = await config({ PUSHPIN_SIG_KEY: SIG_KEY }, '--services');
    expect(stdout.trim().split('\n').sort()).toEqual(['app', 'postgres', 'pushpin']);
  });

  it('gives Pushpin and the app the same sig key, in the GRIP URL', async () => {
    const { stdout } = await config({ PUSHPIN_SIG_KEY: SIG_KEY });
    expect(stdout).toContain(`PUSHPIN_SIG_KEY: ${SIG_KEY}`);
    expect(stdout).toContain(`GRIP_URL: http://pushpin:5561/?iss=pushpin&key=${SIG_KEY}`);
    // Only Pushpin's client port is published: the publish API stays inside.
    expect([...stdout.matchAll(/published: (\d+)/g)].map((m) => m[1])).toEqual(['7999']);
  });

  it('will not start without PUSHPIN_SIG_KEY, saying what to set', async () => {
    const refused = await config({}).then(
      () => undefined,
      (error: { stderr: string }) => error.stderr,
    );
    expect(refused).toContain('set PUSHPIN_SIG_KEY in .env to at least 32 random characters');
  });
});
