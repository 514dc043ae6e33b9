import { Module } from '@nestjs/common';
import { EVENTSTREAM_CONFIG } from './eventstream.constants';
import {
  EVENTSTREAM_MODULE_OPTIONS,
  EventStreamConfigurableModule,
} from './eventstream.module-definition';
import { EventStreamService } from './eventstream.service';
import type { EventStreamConfig } from './options/eventstream-config';
import type { EventStreamModuleOptions } from './options/eventstream-options.interface';
import { resolveOptions } from './options/resolve-options';
import { RetentionService } from './retention/retention.service';
import { EVENT_STORE } from './storage/event-store.interface';
import { EventDatabase } from './storage/prisma/event-database';
import { PrismaEventStore } from './storage/prisma/prisma-event-store';

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
    {
      provide: EVENT_STORE,
      useFactory: (database: EventDatabase) => new PrismaEventStore(database),
      inject: [EventDatabase],
    },
    EventStreamService,
    RetentionService,
  ],
  exports: [EventStreamService, EVENT_STORE, RetentionService],
})
export class EventStreamModule extends EventStreamConfigurableModule {}
