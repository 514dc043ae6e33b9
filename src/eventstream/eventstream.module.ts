import { Module } from '@nestjs/common';
import { EVENTSTREAM_CONFIG } from './eventstream.constants';
import {
  EVENTSTREAM_MODULE_OPTIONS,
  EventStreamConfigurableModule,
} from './eventstream.module-definition';
import { EventStreamService } from './eventstream.service';
import type { EventStreamConfig } from './options/eventstream-config';
import type { EventStreamModuleOptions } from './options/eventstream-options';
import { resolveOptions } from './options/resolve-options';
import { EventStreamHealth } from './health/eventstream-health';
import { EventStreamMetrics } from './metrics/eventstream-metrics';
import { RetentionService } from './retention/retention.service';
import { EVENT_STORE } from './storage/event-store.interface';
import { AppStreams } from './app-streams/app-streams';
import { EVENTSTREAM_AUTHORIZER } from './auth/channel-authorizer.interface';
import { EVENTSTREAM_CONNECT_HOOK } from './connect/stream-connect-hook.interface';
import { EVENT_DELIVERY } from './delivery/event-delivery.interface';
import { DirectDelivery } from './direct/direct-delivery';
import { StreamHub } from './direct/stream-hub';
import { StreamSlots } from './limits/stream-slots';
import { GripDelivery } from './grip/grip-delivery';
import { GripPublisher } from './grip/grip-publisher';
import { GripResponder } from './grip/grip-responder';
import { EventHistoryResponder } from './http/event-history-responder';
import { EventStreamResponder } from './http/event-stream-responder';
import { CHANGE_FEED } from './storage/change-feed.interface';
import { EventDatabase } from './storage/postgres/event-database';
import { PostgresChangeFeed } from './storage/postgres/postgres-change-feed';
import { PostgresEventStore } from './storage/postgres/postgres-event-store';
import { PostgresPresenceStore } from './storage/postgres/postgres-presence-store';
import { PRESENCE_STORE } from './storage/presence-store.interface';
import { PresenceTracker } from './presence/presence-tracker';
import { PresenceAnnouncements } from './presence/presence-announcements';
import { EventPresenceResponder } from './http/event-presence-responder';

/**
 * Persistent, replayable event streams for Nest.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     EventStreamModule.forRoot({ databaseUrl: process.env.DATABASE_URL, migrate: true }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({
  providers: [
    {
      provide: EVENTSTREAM_CONFIG,
      useFactory: (options: EventStreamModuleOptions) => resolveOptions(options),
      inject: [EVENTSTREAM_MODULE_OPTIONS],
    },
    {
      provide: EventDatabase,
      useFactory: (config: EventStreamConfig) => EventDatabase.open(config),
      inject: [EVENTSTREAM_CONFIG],
    },
    EventStreamMetrics,
    {
      provide: EVENT_STORE,
      useFactory: (database: EventDatabase, metrics: EventStreamMetrics) =>
        metrics.instrument(
          new PostgresEventStore(database, (read) => metrics.recordPageRead(read)),
        ),
      inject: [EventDatabase, EventStreamMetrics],
    },
    {
      provide: CHANGE_FEED,
      useFactory: (database: EventDatabase, config: EventStreamConfig) =>
        new PostgresChangeFeed(database, config),
      inject: [EventDatabase, EVENTSTREAM_CONFIG],
    },
    {
      provide: EVENTSTREAM_AUTHORIZER,
      useFactory: (config: EventStreamConfig) => config.authorizer,
      inject: [EVENTSTREAM_CONFIG],
    },
    {
      provide: EVENTSTREAM_CONNECT_HOOK,
      useFactory: (config: EventStreamConfig) => config.onConnect,
      inject: [EVENTSTREAM_CONFIG],
    },
    {
      provide: PRESENCE_STORE,
      useFactory: (database: EventDatabase) => new PostgresPresenceStore(database),
      inject: [EventDatabase],
    },
    PresenceTracker,
    PresenceAnnouncements,
    StreamHub,
    DirectDelivery,
    GripPublisher,
    GripResponder,
    GripDelivery,
    {
      // Chosen like a throttler storage or a health indicator: one port, the
      // implementation the options call for.
      provide: EVENT_DELIVERY,
      useFactory: (config: EventStreamConfig, direct: DirectDelivery, grip: GripDelivery) =>
        config.grip ? grip : direct,
      inject: [EVENTSTREAM_CONFIG, DirectDelivery, GripDelivery],
    },
    EventStreamService,
    EventStreamHealth,
    RetentionService,
    StreamSlots,
    EventStreamResponder,
    EventHistoryResponder,
    EventPresenceResponder,
    AppStreams,
  ],
  exports: [
    EventStreamService,
    EventStreamResponder,
    EventHistoryResponder,
    EVENT_STORE,
    EVENTSTREAM_AUTHORIZER,
    EVENTSTREAM_CONNECT_HOOK,
    EventStreamMetrics,
    EventStreamHealth,
    RetentionService,
    AppStreams,
  ],
})
export class EventStreamModule extends EventStreamConfigurableModule {}
