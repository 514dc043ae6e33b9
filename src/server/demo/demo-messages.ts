import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import { EventStreamService } from '../../eventstream';
import type { DemoMessage } from './demo-message.dto';

/** The connection string of the database the demo keeps its own table in. */
export const DEMO_DATABASE_URL = Symbol('DEMO_DATABASE_URL');

/** Advisory lock key for creating the demo's table (the library's migrations use 72707369). */
const DEMO_TABLE_LOCK = 72707370;

/**
 * The demo's own table of messages, as an app has one: each message is saved
 * and its event sent in one transaction, so the event exists if and only if
 * the row does.
 */
@Injectable()
export class DemoMessages implements OnModuleInit, OnModuleDestroy {
  private readonly pool: Pool;

  constructor(
    @Inject(DEMO_DATABASE_URL) databaseUrl: string,
    private readonly events: EventStreamService,
  ) {
    this.pool = new Pool({ connectionString: databaseUrl, max: 4 });
  }

  async onModuleInit(): Promise<void> {
    // Instances starting together would race on CREATE TABLE IF NOT EXISTS
    // (it is not atomic): one at a time, under an advisory lock.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [DEMO_TABLE_LOCK]);
      await client.query(`
        CREATE TABLE IF NOT EXISTS demo_messages (
          id bigserial PRIMARY KEY,
          channel text NOT NULL,
          user_name text NOT NULL,
          text text NOT NULL,
          sent_at timestamptz NOT NULL DEFAULT now()
        )`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }

  /** Saves the message and sends its event; resolves with the event's id once both commit. */
  async post(channel: string, user: string, text: string): Promise<string> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string; sent_at: Date }>(
        'INSERT INTO demo_messages (channel, user_name, text) VALUES ($1, $2, $3) RETURNING id, sent_at',
        [channel, user, text],
      );
      const message: DemoMessage = {
        messageId: Number(rows[0].id),
        user,
        text,
        sentAt: rows[0].sent_at.toISOString(),
      };
      const event = await this.events.sendEvent(channel, 'message', message, {
        transaction: client,
      });
      await client.query('COMMIT');
      return event.id;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
