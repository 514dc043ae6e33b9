export { EventStreamModule } from './eventstream.module';
export { EVENTSTREAM_MODULE_OPTIONS } from './eventstream.module-definition';
export {
  EventStreamService,
  type EventRecord,
  type EventPage,
  type GetEventsOptions,
  type GetLatestEventsOptions,
  type LatestEventsPage,
  type SendOptions,
} from './eventstream.service';
export type {
  EventStreamTransaction,
  PgTransactionClient,
  PrismaTransactionClient,
} from './storage/transaction';
export type { EventStreamModuleOptions, RetentionOptions } from './options/eventstream-options';
export { RetentionService } from './retention/retention.service';
export { EventStreamMetrics } from './metrics/eventstream-metrics';
export {
  EventStreamHealth,
  type ComponentHealth,
  type EventStreamHealthReport,
} from './health/eventstream-health';
export type { MetricsOptions } from './metrics/metrics-options';
export { EventStreamResponder, type ServeStreamOptions } from './http/event-stream-responder';
export { EventStreamRoute } from './app-streams/event-stream-route.decorator';
export type { EventStreamRouteOptions } from './app-streams/event-stream-route.options';
export { LastEventId } from './app-streams/last-event-id.decorator';
export { StreamSignal } from './app-streams/stream-signal.decorator';
export {
  InvalidStreamEventError,
  MAX_STREAM_EVENT_ID_LENGTH,
  type StreamEvent,
} from './app-streams/stream-event';
export {
  EventHistoryResponder,
  type HistoryPageBody,
  type ServeHistoryOptions,
} from './http/event-history-responder';
export {
  EVENTSTREAM_AUTHORIZER,
  AllowAllAuthorizer,
  type ChannelAuthorizer,
  type ChannelAccess,
} from './auth/channel-authorizer.interface';
export type { UserResolver, UserIdentifier } from './auth/user-identity';
export type {
  ChannelEvents,
  EventDeclaration,
  EventInput,
  EventMap,
  EventTypeOf,
  PerChannel,
} from './events/event-map';
export {
  EVENTSTREAM_CONNECT_HOOK,
  NoInitialEvents,
  type InitialEvent,
  type StreamConnectContext,
  type StreamConnectHook,
} from './connect/stream-connect-hook.interface';
export type { CorsOptions, StreamsPerClientOptions } from './options/eventstream-options';
export type { GripOptions } from './grip/grip-options';
export {
  DEFAULT_EVENT_LIMITS,
  RESERVED_EVENT_TYPES,
  type EventLimits,
} from './events/event-limits';
export { formatEventId, formatCompositeEventId } from './events/event-id';
export {
  EVENT_STORE,
  type EventStore,
  type NewEvent,
  type StoredEvent,
  type AppendedEvent,
  type AppendOptions,
  type LatestEvents,
  type ReadResult,
  type TrimPolicy,
} from './storage/event-store.interface';
export {
  applyMigrations,
  migrationStatus,
  type MigrationOptions,
  type MigrationStatus,
} from './storage/postgres/migrator';
export * from './errors/eventstream.errors';
