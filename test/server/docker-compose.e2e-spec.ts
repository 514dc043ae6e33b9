import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const SIG_KEY = 'compose-sig-key-0123456789abcdefghijklmnop';

/**
 * No image registry is reachable from CI machines, so these stacks do not
 * start there (deploy/local-stack/run.sh runs the root one on a machine
 * with Docker); Compose can still read each file and interpolate it, as
 * `docker compose up` would before it starts anything.
 */
describe.each([
  ['docker-compose.yml', {}],
  ['examples/chat/docker-compose.yml', { JWT_SECRET: 'compose-jwt-secret-0123456789abcdefghijk' }],
])('%s, as Compose reads it', (file, env: Record<string, string>) => {
  const config = (extra: Record<string, string>, ...args: string[]) =>
    run('docker-compose', ['-f', join(ROOT, file), 'config', ...args], {
      env: { PATH: process.env.PATH ?? '', ...extra },
    });

  it('is a valid Compose file with the three services', async () => {
    const { stdout } = await config({ ...env, PUSHPIN_SIG_KEY: SIG_KEY }, '--services');
    expect(stdout.trim().split('\n').sort()).toEqual(['app', 'postgres', 'pushpin']);
  });

  it('gives Pushpin and the app the same sig key, in the GRIP URL', async () => {
    const { stdout } = await config({ ...env, PUSHPIN_SIG_KEY: SIG_KEY });
    expect(stdout).toContain(`PUSHPIN_SIG_KEY: ${SIG_KEY}`);
    expect(stdout).toContain(`GRIP_URL: http://pushpin:5561/?iss=pushpin&key=${SIG_KEY}`);
    if (file === 'docker-compose.yml') expect(stdout).toContain('GRIP_STATS: tcp://pushpin:5564');
    // Only Pushpin's client port is published: the publish API stays inside.
    expect([...stdout.matchAll(/published: (\d+)/g)].map((m) => m[1])).toEqual(['7999']);
  });

  it('will not start without PUSHPIN_SIG_KEY, saying what to set', async () => {
    const refused = await config(env).then(
      () => undefined,
      (error: { stderr: string }) => error.stderr,
    );
    expect(refused).toContain('set PUSHPIN_SIG_KEY in .env to at least 32 random characters');
  });
});
