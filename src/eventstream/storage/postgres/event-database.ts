import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client, type ClientBase, Pool } from 'pg';
import { messageOf } from '../../errors/error-message';
import { MigrationError } from '../../errors/eventstream.errors';
import { applyMigrations, migrationStatus } from './migrator';
import type { EventStreamConfig } from '../../options/eventstream-config';
import { toStoreError } from '../store-errors';
import { ReplicaSet } from './replica-set';
import { EventPartitions, partitionIntervalMs } from './event-partitions';

const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

/**
 * The library's connection to Postgres: a `pg` pool, the app's or its own,
 * with the schema its tables live in. Every query runs on `pg`; Prisma is
 * only where the schema and its migrations come from.
 */
export class EventDatabase implements OnApplicationShutdown {
  private static readonly logger = new Logger('EventStream');
  /** Set when the events table is partitioned (found at start-up). */
  partitions?: EventPartitions;
  private maintenanceTimer?: NodeJS.Timeout;

  private constructor(
    readonly pool: Pool,
    readonly schema: string,
    private readonly ownsPool: boolean,
    /** Read replicas (`replicas`), opened by the library even beside the app's pool. */
    readonly replicas: ReplicaSet,
  ) {}

  /**
   * Connects and, when asked, migrates. With `migrate` off, a database that
   * lacks migrations is an error at start-up rather than at the first send;
   * a database that cannot be reached is only logged, since sends fail
   * clearly on their own and work again once it is back.
   */
  static async open(config: EventStreamConfig): Promise<EventDatabase> {
    const { connection } = config;
    const pool =
      connection.kind === 'pool'
        ? connection.pool
        : new Pool({
            connectionString: connection.databaseUrl,
            max: connection.poolSize,
            connectionTimeoutMillis: connection.connectTimeoutMs,
            // Postgres cancels a statement that runs too long (say, waiting for
            // a lock) before it commits, so such a send is known not to have
            // happened. The client's own timeout, a moment later, is for a
            // connection that hangs, or a commit stuck flushing: the outcome
            // of those is unknown.
            statement_timeout: connection.queryTimeoutMs,
            query_timeout: connection.queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
            idleTimeoutMillis: 30_000,
            keepAlive: true,
            application_name: 'nestjs-eventstream',
          });
    const replicas = new ReplicaSet(
      config.replicas,
      // pg's own default pool size, for a pool given without `max`.
      connection.kind === 'url' ? connection.poolSize : (connection.pool.options?.max ?? 10),
    );
    const database = new EventDatabase(pool, config.schema, connection.kind === 'url', replicas);
    // Without a listener, an idle connection dropped by the server (restart,
    // failover) would be an unhandled 'error' event and end the process.
    pool.on('error', database.onIdleConnectionError);
    try {
      await database.preparePartitions(config, await database.prepareSchema(config));
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    clearInterval(this.maintenanceTimer);
    await this.partitions?.idle();
    await this.replicas.close();
    if (!this.ownsPool) this.pool.off('error', this.onIdleConnectionError);
    else if (!this.pool.ended) await this.pool.end();
  }

  private readonly onIdleConnectionError = (error: Error) =>
    EventDatabase.logger.warn(`Idle database connection failed: ${error.message}`);

  /**
   * With a partitioned events table, makes sure partitions exist ahead of
   * the clock before anything is sent, then keeps them ahead, and drops
   * expired ones, on a timer. A database unreachable at start-up is looked
   * at on the timer's first turn that reaches it.
   */
  private async preparePartitions(config: EventStreamConfig, reachable: boolean): Promise<void> {
    const maxAgeMs = config.retention?.maxAgeMs ?? null;
    const intervalMs = partitionIntervalMs(maxAgeMs);
    if (reachable && (await this.findLayout(intervalMs))) await this.partitions?.createAhead();
    if (this.partitions === undefined && reachable) return;
    this.maintenanceTimer = setInterval(() => {
      void (async () => {
        if (this.partitions === undefined && !(await this.findLayout(intervalMs))) {
          clearInterval(this.maintenanceTimer);
          return;
        }
        await this.partitions?.maintain(maxAgeMs);
      })().catch((error) =>
        EventDatabase.logger.warn(`Partition maintenance failed: ${messageOf(error)}`),
      );
    }, EventPartitions.maintenancePeriodMs(intervalMs));
    this.maintenanceTimer.unref();
  }

  /** Resolves with whether the events table is partitioned, keeping its partitions if so. */
  private async findLayout(intervalMs: number): Promise<boolean> {
    if (!(await EventPartitions.isPartitioned(this.pool, this.schema))) return false;
    this.partitions = new EventPartitions(this.pool, this.schema, intervalMs);
    return true;
  }

  /** Resolves with whether the database could be reached. */
  private async prepareSchema(config: EventStreamConfig): Promise<boolean> {
    const log = (message: string) => EventDatabase.logger.log(message);
    let client: ClientBase & { release?: () => void };
    try {
      client = await this.migrationClient(config);
    } catch (error) {
      if (config.migrate) throw toStoreError('connect at start-up', error);
      EventDatabase.logger.error(`Database unreachable at start-up: ${messageOf(error)}`);
      return false;
    }
    try {
      if (config.migrate) {
        await applyMigrations(client, { schema: config.schema, log });
        return true;
      }
      const status = await migrationStatus(client, { schema: config.schema });
      if (status.pending.length > 0 || status.failed.length > 0) {
        throw new MigrationError(
          `Schema "${config.schema}" lacks migrations ${[...status.failed, ...status.pending].join(', ')}. ` +
            'Run `npx nestjs-eventstream migrate` (or `prisma migrate deploy`), ' +
            'or set the module option `migrate: true`.',
        );
      }
      return true;
    } finally {
      if (client.release) client.release();
      else await (client as Client).end();
    }
  }

  /**
   * Migrations get a connection of their own, without the pool's query
   * timeout: waiting for another instance's migration lock, or a long
   * migration, must not be cut off after `queryTimeoutMs`.
   */
  private async migrationClient(config: EventStreamConfig) {
    const { connection } = config;
    if (connection.kind === 'pool') return connection.pool.connect();
    const client = new Client({
      connectionString: connection.databaseUrl,
      connectionTimeoutMillis: connection.connectTimeoutMs,
      application_name: 'nestjs-eventstream-migrate',
    });
    client.on('error', this.onIdleConnectionError);
    await client.connect();
    return client;
  }
}
