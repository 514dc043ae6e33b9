import type { PoolClient } from 'pg';
import type {
  PresenceAnnouncer,
  PresenceChange,
  PresenceKey,
  PresenceShare,
  PresenceStore,
} from '../presence-store.interface';
import { toStoreError } from '../store-errors';
import type { EventDatabase } from './event-database';
import { quoteIdentifier } from './sql-identifiers';

interface KeyState {
  channel: string;
  user_id: string;
  present: boolean;
  announced: boolean;
}

/**
 * The {@link PresenceStore} on the UNLOGGED tables `presence_instances` (one
 * row per instance: until when it counts) and `presence_streams` (its
 * shares), with `presence_announced` for the joins announced. Every clock
 * is the database's, so the instances' clocks may disagree.
 */
export class PostgresPresenceStore implements PresenceStore {
  private readonly writeSql: string;
  private readonly readSql: string;
  private readonly reapSql: string;
  private readonly unsettledSql: string;
  private readonly lockSql: string;
  private readonly stateSql: string;
  private readonly joinSql: string;
  private readonly leaveSql: string;

  constructor(private readonly database: EventDatabase) {
    const schema = quoteIdentifier(database.schema);
    const instances = `${schema}."presence_instances"`;
    const streams = `${schema}."presence_streams"`;
    const announced = `${schema}."presence_announced"`;
    const live = (alias: string) =>
      `EXISTS (SELECT 1 FROM ${instances} i WHERE i.instance_id = ${alias}.instance_id AND i.expires_at > now())`;
    // One statement: the instance's lease and its shares move together, so a
    // share is never written for an instance that is not alive.
    this.writeSql = `
      WITH instance AS (
        INSERT INTO ${instances} (instance_id, expires_at)
        VALUES ($1, now() + $2::float8 * interval '1 millisecond')
        ON CONFLICT (instance_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
        RETURNING (xmax = 0) AS inserted
      ), removed AS (
        DELETE FROM ${streams} p USING unnest($3::text[], $4::text[]) AS r(channel, user_id)
        WHERE p.instance_id = $1 AND p.channel = r.channel AND p.user_id = r.user_id
      ), written AS (
        INSERT INTO ${streams} (channel, user_id, instance_id, streams)
        SELECT channel, user_id, $1, streams
        FROM unnest($5::text[], $6::text[], $7::int[]) AS s(channel, user_id, streams)
        ON CONFLICT (channel, user_id, instance_id) DO UPDATE SET streams = EXCLUDED.streams
      )
      SELECT inserted FROM instance`;
    this.readSql = `
      SELECT p.user_id, sum(p.streams)::int AS streams FROM ${streams} p
      WHERE p.channel = $1 AND p.instance_id <> $2 AND ${live('p')}
      GROUP BY p.user_id`;
    this.reapSql = `
      WITH dead AS (DELETE FROM ${instances} WHERE expires_at < now() RETURNING instance_id)
      DELETE FROM ${streams} WHERE instance_id IN (SELECT instance_id FROM dead)`;
    const present = (key: string) =>
      `EXISTS (SELECT 1 FROM ${streams} p WHERE p.channel = ${key}.channel AND p.user_id = ${key}.user_id AND ${live('p')})`;
    const isAnnounced = (key: string) =>
      `EXISTS (SELECT 1 FROM ${announced} a WHERE a.channel = ${key}.channel AND a.user_id = ${key}.user_id)`;
    this.unsettledSql = `
      SELECT k.channel, k.user_id FROM ${announced} k WHERE NOT ${present('k')}
      UNION
      SELECT k.channel, k.user_id FROM ${streams} k
      WHERE k.user_id <> '' AND ${live('k')} AND NOT ${isAnnounced('k')}`;
    // Locks taken in one order by every instance, so two settles never
    // deadlock. The namespace keeps them apart from the app's own locks.
    this.lockSql = `
      SELECT count(pg_advisory_xact_lock(a, b)) FROM (
        SELECT DISTINCT hashtext($1 || k.channel) AS a, hashtext(k.user_id) AS b
        FROM unnest($2::text[], $3::text[]) AS k(channel, user_id)
        ORDER BY a, b
      ) AS keys`;
    this.stateSql = `
      SELECT k.channel, k.user_id, ${present('k')} AS present, ${isAnnounced('k')} AS announced
      FROM unnest($1::text[], $2::text[]) AS k(channel, user_id)`;
    this.joinSql = `
      INSERT INTO ${announced} (channel, user_id)
      SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`;
    this.leaveSql = `
      DELETE FROM ${announced} a USING unnest($1::text[], $2::text[]) AS k(channel, user_id)
      WHERE a.channel = k.channel AND a.user_id = k.user_id`;
  }

  async write(
    instanceId: string,
    shares: readonly PresenceShare[],
    removed: readonly PresenceKey[],
    ttlMs: number,
  ): Promise<{ known: boolean }> {
    try {
      const { rows } = await this.database.pool.query<{ inserted: boolean }>(this.writeSql, [
        instanceId,
        ttlMs,
        removed.map((key) => key.channel),
        removed.map((key) => key.userId),
        shares.map((share) => share.channel),
        shares.map((share) => share.userId),
        shares.map((share) => share.streams),
      ]);
      return { known: !rows[0].inserted };
    } catch (error) {
      throw toStoreError('write presence', error);
    }
  }

  async read(channel: string, exceptInstanceId: string): Promise<Map<string, number>> {
    try {
      const { rows } = await this.database.pool.query<{ user_id: string; streams: number }>(
        this.readSql,
        [channel, exceptInstanceId],
      );
      return new Map(rows.map((row) => [row.user_id, row.streams]));
    } catch (error) {
      throw toStoreError('read presence', error);
    }
  }

  async reap(): Promise<void> {
    try {
      await this.database.pool.query(this.reapSql);
    } catch (error) {
      throw toStoreError('delete expired presence', error);
    }
  }

  async unsettled(): Promise<PresenceKey[]> {
    try {
      const { rows } = await this.database.pool.query<{ channel: string; user_id: string }>(
        this.unsettledSql,
      );
      return rows.map((row) => ({ channel: row.channel, userId: row.user_id }));
    } catch (error) {
      throw toStoreError('read unsettled presence', error);
    }
  }

  async settle(
    keys: readonly PresenceKey[],
    announce: PresenceAnnouncer,
  ): Promise<PresenceChange[]> {
    if (keys.length === 0) return [];
    const channels = keys.map((key) => key.channel);
    const users = keys.map((key) => key.userId);
    let client: PoolClient;
    try {
      client = await this.database.pool.connect();
    } catch (error) {
      throw toStoreError('settle presence', error);
    }
    let changes: PresenceChange[];
    try {
      changes = await this.settleIn(client, channels, users, announce);
    } catch (error) {
      // A connection that cannot roll back is not given back to the pool.
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      client.release(!rolledBack);
      throw toStoreError('settle presence', error);
    }
    client.release();
    return changes;
  }

  private async settleIn(
    client: PoolClient,
    channels: readonly string[],
    users: readonly string[],
    announce: PresenceAnnouncer,
  ): Promise<PresenceChange[]> {
    await client.query('BEGIN');
    await client.query(this.lockSql, [`presence:${this.database.schema}:`, channels, users]);
    const { rows } = await client.query<KeyState>(this.stateSql, [channels, users]);
    const changes: PresenceChange[] = [];
    for (const row of rows) {
      if (row.present === row.announced) continue;
      const action = row.present ? 'join' : 'leave';
      changes.push({ channel: row.channel, userId: row.user_id, action });
    }
    for (const [sql, action] of [
      [this.joinSql, 'join'],
      [this.leaveSql, 'leave'],
    ] as const) {
      const some = changes.filter((change) => change.action === action);
      if (some.length === 0) continue;
      await client.query(sql, [some.map((c) => c.channel), some.map((c) => c.userId)]);
    }
    if (changes.length > 0) await announce(changes, client);
    await client.query('COMMIT');
    return changes;
  }
}
