import { type BeforeApplicationShutdown, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client, type Notification, type PoolClient } from 'pg';
import { messageOf } from '../../errors/error-message';
import type { EventStreamConfig } from '../../options/eventstream-config';
import type { ChangeFeed, ChangeListener } from '../change-feed.interface';
import { quoteIdentifier } from './sql-identifiers';
import { toStoreError } from '../store-errors';
import type { EventDatabase } from './event-database';
import { HeadAnnouncer } from './head-announcer';
import { COMMIT_PREFIX, HEAD_PREFIX, PERMISSION_PREFIX, notifyChannel } from './notify-channel';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

/**
 * A {@link ChangeFeed} over Postgres LISTEN/NOTIFY. Appends in an app's
 * transaction notify in the statement that writes the events, so only if
 * it commits; this instance's own appends are announced after they commit
 * ({@link HeadAnnouncer}). One connection per instance listens; it
 * reconnects with backoff, and listeners resync after every reconnect.
 */
export class PostgresChangeFeed
  implements ChangeFeed, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('EventStream');
  private readonly listeners = new Set<ChangeListener>();
  private readonly channel: string;
  private readonly announcer: HeadAnnouncer;
  /** Tags this instance's permission notices, which it does not hear back. */
  private readonly origin = randomUUID();
  private connection?: Client | PoolClient;
  private connecting?: Promise<void>;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly database: EventDatabase,
    private readonly config: EventStreamConfig,
  ) {
    this.channel = notifyChannel(config.schema);
    this.announcer = new HeadAnnouncer(database.pool, this.channel);
  }

  announceHeads(heads: ReadonlyMap<string, number>): void {
    heads.forEach((seq, channel) => {
      for (const listener of this.listeners) listener.onHead(channel, seq);
    });
    this.announcer.announce(heads);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    void this.ensureListening();
    return () => this.listeners.delete(listener);
  }

  async announcePermissionChange(userId: string, channel: string): Promise<void> {
    try {
      await this.database.pool.query('SELECT pg_notify($1, $2)', [
        this.channel,
        PERMISSION_PREFIX + JSON.stringify([userId, channel, this.origin]),
      ]);
    } catch (error) {
      throw toStoreError('announce a permission change', error);
    }
  }

  ready(): Promise<void> {
    return this.ensureListening();
  }

  private ensureListening(): Promise<void> {
    if (this.connection || this.closed) return Promise.resolve();
    this.connecting ??= this.listen().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  // Before the pool closes (on shutdown).
  beforeApplicationShutdown(): Promise<void> {
    return this.announcer.close();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    await this.connecting;
    await this.disconnect();
  }

  private async listen(): Promise<void> {
    const connection = await this.connect().catch((error: unknown) => {
      this.scheduleRetry(error);
      return undefined;
    });
    if (!connection) return;
    connection.on('notification', this.onNotification);
    connection.on('error', this.onConnectionLost);
    connection.on('end', this.onConnectionLost);
    try {
      await connection.query(`LISTEN ${quoteIdentifier(this.channel)}`);
    } catch (error) {
      void this.release(connection, error);
      this.scheduleRetry(error);
      return;
    }
    if (this.closed) return this.release(connection);
    this.connection = connection;
    this.retryMs = RETRY_MIN_MS;
    this.checkEvery(connection);
    // Whatever happened while we were not listening is only in the table.
    for (const listener of this.listeners) listener.onResync();
  }

  private async connect(): Promise<Client | PoolClient> {
    const { connection } = this.config;
    if (connection.kind === 'pool') return connection.pool.connect();
    const client = new Client({
      connectionString: connection.databaseUrl,
      connectionTimeoutMillis: connection.connectTimeoutMs,
      keepAlive: true,
      application_name: 'nestjs-eventstream-listen',
    });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  private readonly onNotification = (message: Notification) => {
    const payload = message.payload ?? '';
    if (payload.startsWith(HEAD_PREFIX)) {
      const space = payload.indexOf(' ', HEAD_PREFIX.length);
      const seq = Number(payload.slice(HEAD_PREFIX.length, space));
      const channel = payload.slice(space + 1);
      for (const listener of this.listeners) listener.onHead(channel, seq);
    } else if (payload.startsWith(COMMIT_PREFIX)) {
      const marker = payload.slice(COMMIT_PREFIX.length);
      for (const listener of this.listeners) listener.onCommitted?.(marker);
    } else if (payload.startsWith(PERMISSION_PREFIX)) {
      const [userId, channel, origin] = JSON.parse(payload.slice(PERMISSION_PREFIX.length)) as [
        string,
        string,
        string | undefined,
      ];
      if (origin === this.origin) return;
      for (const listener of this.listeners) listener.onPermissionChanged(userId, channel);
    }
  };

  /**
   * A connection that only listens sends nothing, so one that hangs for good
   * (a NAT or firewall that forgot it, a failover without a reset) would
   * never be noticed and this instance would stop hearing commits. It is
   * asked a query at every keep-alive interval, and replaced when it does
   * not answer within the query timeout.
   */
  private checkEvery(connection: Client | PoolClient): void {
    const { connection: settings, keepAliveMs } = this.config;
    const timeoutMs = settings.kind === 'url' ? settings.queryTimeoutMs : keepAliveMs;
    let checking = false;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (checking || this.connection !== connection) return;
      checking = true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer to a health check in ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      Promise.race([connection.query('SELECT 1'), timeout])
        .then(
          () => undefined,
          (error: unknown) => {
            if (this.connection === connection) this.onConnectionLost(error);
          },
        )
        .finally(() => {
          clearTimeout(timer);
          checking = false;
        });
    }, keepAliveMs);
    this.heartbeatTimer.unref();
  }

  private readonly onConnectionLost = (error?: unknown) => {
    const connection = this.connection;
    if (!connection) return;
    clearInterval(this.heartbeatTimer);
    this.connection = undefined;
    void this.release(connection, error ?? new Error('connection ended'));
    if (!this.closed) this.scheduleRetry(error ?? new Error('connection ended'));
  };

  private scheduleRetry(error: unknown): void {
    if (this.closed) return;
    this.logger.warn(`Change feed lost its connection (${messageOf(error)}); retrying`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.ensureListening(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private async disconnect(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await this.release(connection);
  }

  /** Closes a listening connection for good: one that LISTENs never goes back to a pool. */
  private async release(connection: Client | PoolClient, error?: unknown): Promise<void> {
    connection.removeListener('notification', this.onNotification);
    connection.removeListener('error', this.onConnectionLost);
    connection.removeListener('end', this.onConnectionLost);
    connection.on('error', () => undefined);
    if ('release' in connection) connection.release(error instanceof Error ? error : true);
    else await connection.end().catch(() => undefined);
  }
}
