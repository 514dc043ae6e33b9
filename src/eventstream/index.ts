// `nestjs-eventstream`: what an application uses. What replaces a part of the
// library, or runs beside it, has its own entry point: `nestjs-eventstream/storage`
// (the event store), `nestjs-eventstream/migrations` (the migrator) and
// `nestjs-eventstream/client` (the browser client). The exact list of names
// is pinned by test/package/public-api.spec.ts.

// The module, its options and the service that sends and reads events.
export { EventStreamModule } from './eventstream.module';
export type {
  CorsOptions,
  EventStreamModuleOptions,
  PresenceOptions,
  RetentionOptions,
  StreamsPerClientOptions,
} from './options/eventstream-options';
export type { GripOptions } from './grip/grip-options';
export type { MetricsOptions } from './metrics/metrics-options';
export type { EventLimits } from './events/event-limits';
export {
  EventStreamService,
  type EventRecord,
  type EventPage,
  type GetEventsOptions,
  type GetLatestEventsOptions,
  type LatestEventsPage,
  type SendOptions,
} from './eventstream.service';
export type { ChannelPresence } from './presence/channel-presence';
export type { PresenceEventData } from './presence/presence-announcements';
export type {
  EventStreamTransaction,
  PgTransactionClient,
  PrismaTransactionClient,
} from './storage/transaction';

// Typed events and their ids, shared with the browser client's types.
export type {
  ChannelEvents,
  EventDeclaration,
  EventInput,
  EventMap,
  EventTypeOf,
  PerChannel,
} from './events/event-map';
export { formatEventId, formatCompositeEventId } from './events/event-id';

// Who may read what, and what a stream starts with: the app's policies.
export {
  EVENTSTREAM_AUTHORIZER,
  AllowAllAuthorizer,
  type ChannelAuthorizer,
  type ChannelAccess,
} from './auth/channel-authorizer.interface';
export type { UserResolver, UserIdentifier } from './auth/user-identity';
export {
  EVENTSTREAM_CONNECT_HOOK,
  NoInitialEvents,
  type InitialEvent,
  type StreamConnectContext,
  type StreamConnectHook,
} from './connect/stream-connect-hook.interface';

// Streams and history from the app's own routes.
export { EventStreamResponder, type ServeStreamOptions } from './http/event-stream-responder';
export {
  EventHistoryResponder,
  type HistoryPageBody,
  type ServeHistoryOptions,
} from './http/event-history-responder';
export { EventStreamRoute } from './app-streams/event-stream-route.decorator';
export type { EventStreamRouteOptions } from './app-streams/event-stream-route.options';
export { LastEventId } from './app-streams/last-event-id.decorator';
export { StreamSignal } from './app-streams/stream-signal.decorator';
export { InvalidStreamEventError, type StreamEvent } from './app-streams/stream-event';

// Operations: providers the module exports for health checks, metrics and retention.
export {
  EventStreamHealth,
  type ComponentHealth,
  type EventStreamHealthReport,
} from './health/eventstream-health';
export { EventStreamMetrics } from './metrics/eventstream-metrics';
export { RetentionService } from './retention/retention.service';

export {
  EventStreamError,
  InvalidChannelError,
  InvalidEventTypeError,
  InvalidEventDataError,
  InvalidPositionError,
  InvalidQueryError,
  InvalidIdempotencyKeyError,
  IdempotencyKeyReusedError,
  EventPositionTooOldError,
  EventPositionAheadError,
  EventStoreUnavailableError,
  ChannelAccessDeniedError,
  ProxyRequestRefusedError,
  TooManyStreamsError,
  EventStoreError,
  EventStreamConfigError,
  MigrationError,
} from './errors/eventstream.errors';
