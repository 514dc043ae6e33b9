/**
 * Every name each entry point of the package exports, values (what exists at
 * run time) and types apart. A name is added here on purpose or not at all:
 * test/public-api.spec.ts holds the sources to this list, and
 * test/consumer-package.e2e-spec.ts the packed package.
 */
export interface EntryPoint {
  /** The source file the entry point is built from. */
  readonly source: string;
  readonly values: readonly string[];
  readonly types: readonly string[];
  /** Loaded with `import` only (the browser client); the others with `require` too. */
  readonly esmOnly?: true;
}

export const PUBLIC_API: Readonly<Record<string, EntryPoint>> = {
  // What an application uses.
  'nestjs-eventstream': {
    source: 'src/eventstream/index.ts',
    values: [
      'AllowAllAuthorizer',
      'ChannelAccessDeniedError',
      'EVENTSTREAM_AUTHORIZER',
      'EVENTSTREAM_CONNECT_HOOK',
      'EventHistoryResponder',
      'EventPositionAheadError',
      'EventPositionTooOldError',
      'EventStoreError',
      'EventStoreUnavailableError',
      'EventStreamConfigError',
      'EventStreamError',
      'EventStreamHealth',
      'EventStreamMetrics',
      'EventStreamModule',
      'EventStreamResponder',
      'EventStreamRoute',
      'EventStreamService',
      'IdempotencyKeyReusedError',
      'InvalidChannelError',
      'InvalidEventDataError',
      'InvalidEventTypeError',
      'InvalidIdempotencyKeyError',
      'InvalidPositionError',
      'InvalidQueryError',
      'InvalidStreamEventError',
      'LastEventId',
      'MigrationError',
      'NoInitialEvents',
      'ProxyRequestRefusedError',
      'RetentionService',
      'StreamSignal',
      'TooManyStreamsError',
      'formatCompositeEventId',
      'formatEventId',
    ],
    types: [
      'ChannelAccess',
      'ChannelAuthorizer',
      'ChannelEvents',
      'ChannelPresence',
      'ComponentHealth',
      'CorsOptions',
      'EventDeclaration',
      'EventInput',
      'EventLimits',
      'EventMap',
      'EventPage',
      'EventRecord',
      'EventStreamHealthReport',
      'EventStreamModuleOptions',
      'EventStreamRouteOptions',
      'EventStreamTransaction',
      'EventTypeOf',
      'GetEventsOptions',
      'GetLatestEventsOptions',
      'GripOptions',
      'HistoryPageBody',
      'InitialEvent',
      'LatestEventsPage',
      'MetricsOptions',
      'PerChannel',
      'PgTransactionClient',
      'PresenceEventData',
      'PresenceOptions',
      'PrismaTransactionClient',
      'RetentionOptions',
      'SendOptions',
      'ServeHistoryOptions',
      'ServeStreamOptions',
      'StreamConnectContext',
      'StreamConnectHook',
      'StreamEvent',
      'StreamsPerClientOptions',
      'UserIdentifier',
      'UserResolver',
    ],
  },
  // The store, for an app that replaces it or reads it below the service.
  'nestjs-eventstream/storage': {
    source: 'src/eventstream/storage/index.ts',
    values: ['EVENT_STORE'],
    types: [
      'AppendOnceResult',
      'AppendOptions',
      'AppendedEvent',
      'EventStore',
      'IdempotencyKey',
      'LatestEvents',
      'NewEvent',
      'ReadResult',
      'StoredEvent',
      'TrimPolicy',
    ],
  },
  // The migrator, for an operator's own tooling.
  'nestjs-eventstream/migrations': {
    source: 'src/eventstream/migrations/index.ts',
    values: ['applyMigrations', 'migrationStatus'],
    types: ['MigrationFile', 'MigrationOptions', 'MigrationStatus'],
  },
  // The browser client: an ES module only.
  'nestjs-eventstream/client': {
    source: 'src/client/index.ts',
    esmOnly: true,
    values: ['DEFAULT_BACKOFF', 'StreamError', 'createEventStream'],
    types: [
      'BackoffOptions',
      'ConnectionState',
      'EventInfo',
      'EventListener',
      'EventStream',
      'EventStreamOptions',
      'StreamReset',
    ],
  },
};

/** The built file Node loads for an entry point's source (`src/x/index.ts` → `./dist/x/index.js`). */
export function builtPath(source: string, extension: '.js' | '.d.ts'): string {
  return `./${source.replace(/^src\//, 'dist/').replace(/\.ts$/, extension)}`;
}
