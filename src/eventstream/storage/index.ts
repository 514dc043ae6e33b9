// `nestjs-eventstream/storage`: the store the module writes to and reads from,
// for an app that replaces it (`overrideProvider(EVENT_STORE)`) or reads it
// below the service. Nothing inside the library imports this file.
export {
  EVENT_STORE,
  type AppendedEvent,
  type AppendOptions,
  type AppendOnceResult,
  type IdempotencyKey,
  type EventStore,
  type LatestEvents,
  type NewEvent,
  type ReadResult,
  type StoredEvent,
  type TrimPolicy,
} from './event-store.interface';
