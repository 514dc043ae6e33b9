import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { messageOf } from '../../errors/error-message';
import type { ReadObserver } from '../read-source';

/**
 * A replica that does not connect or answer within this long is given up
 * for the read, which the primary then answers: a page is one indexed query
 * of a few milliseconds, so a second means the replica is down or hangs.
 */
export const REPLICA_TIMEOUT_MS = 1_000;
/** How long a replica that failed is skipped before one read tries it again. */
export const REPLICA_RETRY_AFTER_MS = 10_000;

class Replica {
  /** Skipped until then, after a failure; 0 while healthy. */
  downUntil = 0;
  /** A read is trying it again after a failure: the others keep to the primary meanwhile. */
  probing = false;

  constructor(
    readonly pool: Pool,
    readonly name: string,
  ) {}

  /** Whether a read may use it now; claims the one retry when its skip time is over. */
  take(now: number): boolean {
    if (this.downUntil === 0) return true;
    if (this.probing || now < this.downUntil) return false;
    this.probing = true;
    return true;
  }
}

/**
 * The read replicas of the database: a pool each, taken in turn (round
 * robin, skipping those that failed lately). A replica answers a read only
 * when its answer is what the primary's would be, which the caller decides
 * from the answer (the channel's head it carries); anything else (lagging,
 * down, hanging, failing) sends the read to the primary, so a replica can
 * make reads cheaper for the primary but never wrong or stuck past
 * {@link REPLICA_TIMEOUT_MS}.
 */
export class ReplicaSet {
  private static readonly logger = new Logger('EventStream');
  private readonly replicas: Replica[];
  private next = 0;

  constructor(urls: readonly string[], poolSize: number) {
    this.replicas = urls.map((url, index) => {
      const pool = new Pool({
        connectionString: url,
        max: poolSize,
        connectionTimeoutMillis: REPLICA_TIMEOUT_MS,
        statement_timeout: REPLICA_TIMEOUT_MS,
        query_timeout: REPLICA_TIMEOUT_MS,
        idleTimeoutMillis: 30_000,
        keepAlive: true,
        application_name: 'nestjs-eventstream-replica',
      });
      pool.on('error', (error) =>
        ReplicaSet.logger.warn(`Idle connection to replica ${index} failed: ${error.message}`),
      );
      return new Replica(pool, `replica ${index}`);
    });
  }

  get size(): number {
    return this.replicas.length;
  }

  /**
   * Runs `query` on the next usable replica and returns its answer if
   * `caughtUp` accepts it; otherwise runs it on `primary`. The caller's
   * errors come from the primary only.
   */
  async read<T>(
    query: (pool: Pool) => Promise<T>,
    caughtUp: (answer: T) => boolean,
    primary: Pool,
    observe: ReadObserver,
  ): Promise<T> {
    const replica = this.take();
    if (!replica) {
      observe({ source: 'primary', reason: 'replica-down' });
      return query(primary);
    }
    let answer: T;
    try {
      answer = await query(replica.pool);
    } catch (error) {
      this.failed(replica, error);
      observe({ source: 'primary', reason: 'replica-failed' });
      return query(primary);
    }
    this.healthy(replica);
    if (!caughtUp(answer)) {
      observe({ source: 'primary', reason: 'lagging' });
      return query(primary);
    }
    observe({ source: 'replica', reason: 'caught-up' });
    return answer;
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.filter((r) => !r.pool.ended).map((r) => r.pool.end()));
  }

  private take(): Replica | undefined {
    const now = Date.now();
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const replica = this.replicas[this.next];
      this.next = (this.next + 1) % this.replicas.length;
      if (replica.take(now)) return replica;
    }
    return undefined;
  }

  private failed(replica: Replica, error: unknown): void {
    if (replica.downUntil === 0 || replica.probing) {
      ReplicaSet.logger.warn(
        `Reads skip ${replica.name} for ${REPLICA_RETRY_AFTER_MS / 1000} s: ${messageOf(error)}`,
      );
    }
    replica.downUntil = Date.now() + REPLICA_RETRY_AFTER_MS;
    replica.probing = false;
  }

  private healthy(replica: Replica): void {
    if (replica.downUntil !== 0) ReplicaSet.logger.log(`Reads use ${replica.name} again`);
    replica.downUntil = 0;
    replica.probing = false;
  }
}
