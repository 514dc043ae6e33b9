import { Inject, Injectable } from '@nestjs/common';
import { EVENT_DELIVERY, type EventDelivery } from '../delivery/event-delivery.interface';
import { messageOf } from '../errors/error-message';
import { EVENT_STORE, type EventStore } from '../storage/event-store.interface';

export interface ComponentHealth {
  readonly status: 'up' | 'down';
  /** Why it is down. */
  readonly error?: string;
}

export interface EventStreamHealthReport {
  /** `up` when the database and every proxy are up. */
  readonly status: 'up' | 'down';
  /** The event store: for the default one, its Postgres database. */
  readonly database: ComponentHealth;
  /** Each GRIP proxy's publish API, by origin; empty in direct mode. */
  readonly proxies: Readonly<Record<string, ComponentHealth>>;
}

/**
 * Checks what the module depends on, for a health endpoint: the event store
 * (its `ping`, one query for the Postgres store), whichever store is
 * registered under `EVENT_STORE`, and each GRIP proxy's publish API (one
 * request).
 */
@Injectable()
export class EventStreamHealth {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENT_DELIVERY) private readonly delivery: EventDelivery,
  ) {}

  async check(): Promise<EventStreamHealthReport> {
    const [database, proxies] = await Promise.all([
      this.store.ping().then(
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
