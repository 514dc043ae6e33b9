import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ReadSource } from '../read-source';
import { REPLICA_RETRY_AFTER_MS, ReplicaSet } from './replica-set';

/**
 * The choice of a replica. Pools are made but never connect: each read's
 * query is the caller's function, which answers for the pool it is given.
 * test/storage/read-replicas.e2e-spec.ts runs the same against a real replica.
 */
describe('ReplicaSet', () => {
  const primary = { name: 'primary' } as unknown as Pool;
  let set: ReplicaSet;
  let now: number;
  const sources: ReadSource[] = [];
  const observe = (read: ReadSource) => sources.push(read);
  /** Which pool answered, by its place: `primary`, `r0`, `r1`. */
  const nameOf = (pool: Pool) =>
    pool === primary ? 'primary' : `r${set['replicas'].findIndex((r) => r.pool === pool)}`;

  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    // What it logs when a replica goes and comes back is not asserted here.
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    set = new ReplicaSet(['postgres://a@127.0.0.1:1/x', 'postgres://b@127.0.0.1:2/x'], 2);
    sources.splice(0);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await set.close();
  });

  const read = (fails: readonly string[] = [], caughtUp = true) =>
    set.read(
      (pool) => {
        const name = nameOf(pool);
        return fails.includes(name)
          ? Promise.reject(new Error(`${name} is down`))
          : Promise.resolve(name);
      },
      () => caughtUp,
      primary,
      observe,
    );

  it('takes the replicas in turn', async () => {
    expect([await read(), await read(), await read()]).toEqual(['r0', 'r1', 'r0']);
    expect(sources.every((s) => s.source === 'replica')).toBe(true);
  });

  it('sends a read to the primary when the replica lags', async () => {
    expect(await read([], false)).toBe('primary');
    expect(sources).toEqual([{ source: 'primary', reason: 'lagging' }]);
  });

  it('skips a failed replica for its retry time, then lets one read try it again', async () => {
    expect(await read(['r0'])).toBe('primary');
    expect(sources.pop()).toEqual({ source: 'primary', reason: 'replica-failed' });
    // r1 only, while r0 is skipped.
    expect([await read(), await read()]).toEqual(['r1', 'r1']);

    now += REPLICA_RETRY_AFTER_MS;
    // One read retries r0 while the others keep away from it.
    let release: () => void = () => undefined;
    const probe = set.read(
      (pool) =>
        nameOf(pool) === 'r0'
          ? new Promise<string>((resolve) => (release = () => resolve('r0')))
          : Promise.resolve(nameOf(pool)),
      () => true,
      primary,
      observe,
    );
    expect([await read(), await read()]).toEqual(['r1', 'r1']);
    release();
    expect(await probe).toBe('r0');
    expect([await read(), await read()]).toEqual(['r0', 'r1']);
  });

  it('reads the primary when every replica is skipped', async () => {
    await read(['r0', 'r1']);
    await read(['r0', 'r1']);
    sources.splice(0);
    expect(await read()).toBe('primary');
    expect(sources).toEqual([{ source: 'primary', reason: 'replica-down' }]);
  });
});
