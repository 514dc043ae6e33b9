import { Inject, Injectable } from '@nestjs/common';
import { EVENT_DELIVERY, type EventDelivery } from '../delivery/event-delivery.interface';
import { messageOf } from '../errors/error-message';
import { EventDatabase } from '../storage/prisma/event-database';

export interface ComponentHealth {
  readonly status: 'up' | 'down';
  /** Why it is down. */
  readonly error?: string;
}

export interface EventStreamHealthReport {
  /** `up` when the database and every proxy are up. */
  readonly status: 'up' | 'down';
  readonly database: ComponentHealth;
  /** Each GRIP proxy's publish API, by origin; empty in direct mode. */
  readonly proxies: Readonly<Record<string, ComponentHealth>>;
}

/**
 * Checks what the module depends on, for a health endpoint: the database
 * (one query) and each GRIP proxy's publish API (one request).
 */
@Injectable()
export class EventStreamHealth {
  constructor(
    private readonly database: EventDatabase,
    @Inject(EVENT_DELIVERY) private readonly delivery: EventDelivery,
  ) {}

  async check(): Promise<EventStreamHealthReport> {
    const [database, proxies] = await Promise.all([
      this.database.pool.query('SELECT 1').then(
        (): ComponentHealth => ({ status: 'up' }),
        (error: unknown): ComponentHealth => ({ status: 'down', error: messageOf(error) }),
      ),
      this.delivery.checkDependencies(),
    ]);
    const proxyHealth = Object.fromEntries(
      proxies.map(({ name, error }): [string, ComponentHealth] => [
        name,
        error === undefined ? { status: 'up' } : { status: 'down', error },
      ]),
    );
    const up = database.status === 'up' && proxies.every(({ error }) => error === undefined);
    return { status: up ? 'up' : 'down', database, proxies: proxyHealth };
  }
}
