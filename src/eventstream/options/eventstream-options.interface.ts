import type { Type } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ChannelAuthorizer } from '../auth/channel-authorizer.interface';
import type { UserIdentifier, UserResolver } from '../auth/user-identity';
import type { StreamConnectHook } from '../connect/stream-connect-hook.interface';
import type { EventLimits } from '../events/event-limits';
import type { GripOptions } from '../grip/grip-options.interface';
import type { MetricsOptions } from '../metrics/metrics-options.interface';

/** Cross-origin access to the events endpoint, for pages served from other origins. */
export interface CorsOptions {
  /** Origins allowed to read streams, e.g. `['https://app.example.com']`, or `'*'` for any. */
  origins: readonly string[] | '*';
  /** Let browsers send cookies (`EventSource(url, { withCredentials: true })`). Default false. */
  credentials?: boolean;
  /** How long browsers may cache a preflight answer, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/** How long events are kept. Trimming runs in the background on every instance. */
export interface RetentionOptions {
  /** Keep at most this many events per channel; `null` for no count limit. Default 100000. */
  maxEventsPerChannel?: number | null;
  /** Drop events older than this many milliseconds; `null` for no age limit. Default 24 h. */
  maxAgeMs?: number | null;
  /** How often trimming runs, in milliseconds. Default 60000. */
  intervalMs?: number;
}

/**
 * A cap on the streams one client holds on this instance. Off by default:
 * behind a proxy or load balancer every client has the proxy's address, so
 * give a `key` that tells clients apart there (a user id, a trusted
 * forwarded address).
 */
export interface StreamsPerClientOptions {
  /** Most streams one key may hold open on this instance; past it, 429. */
  max: number;
  /**
   * The client of a stream request (the request your platform hands to
   * controllers). Default: the socket's remote address.
   *
   * @example
   * ```ts
   * key: (request) => (request as { user?: { id: string } }).user?.id ?? 'anonymous'
   * ```
   */
  key?: (request: object) => string;
}

/** Options of {@link EventStreamModule.forRoot}. */
export interface EventStreamModuleOptions {
  /**
   * Postgres connection string, e.g. `postgresql://user:pass@host:5432/app`.
   * Give either this or `pool`.
   */
  databaseUrl?: string;
  /**
   * A `pg` pool the library should use instead of opening its own. The
   * library never ends it; its timeouts are the pool's own.
   */
  pool?: Pool;
  /** Postgres schema holding the library's tables. Default `eventstream`. */
  schema?: string;
  /**
   * Apply the library's migrations at start-up (under an advisory lock, so
   * instances starting together are safe). Default `false`: run
   * `npx nestjs-eventstream migrate` or `prisma migrate deploy` instead.
   */
  migrate?: boolean;
  /** Connections in the pool the library opens from `databaseUrl`. Default 10. */
  poolSize?: number;
  /** How long to wait for a database connection before failing. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long one query may run before it fails. Default 15000 ms. */
  queryTimeoutMs?: number;
  /**
   * Retention policy, or `false` to keep every event forever. On by default:
   * 24 h and at most 100000 events per channel.
   */
  retention?: RetentionOptions | false;
  /**
   * class-validator classes per event type: `sendEvent` checks data of that
   * type against its class and refuses it, before anything is stored, with
   * an `InvalidEventDataError` that names each problem.
   */
  eventPayloads?: { readonly [type: string]: Type<object> };
  /** Limits on channel names, event types and data size. */
  limits?: Partial<EventLimits>;
  /** Most channels one stream may read. Default 10. */
  maxChannelsPerStream?: number;
  /**
   * Most streams this instance holds open at once: direct streams of the
   * events endpoint and of `EventStreamResponder` routes, and app streams
   * (not those handed to a GRIP proxy). Past it a request gets 503 with
   * `Retry-After`. Default: what the open files limit leaves after the
   * database connections and 256 descriptors for everything else.
   */
  maxStreams?: number;
  /** A cap per client, with 429 past it. Default: none. */
  maxStreamsPerClient?: StreamsPerClientOptions;
  /** Idle streams get a `keep-alive` event this often, in milliseconds. Default 20000. */
  keepAliveMs?: number;
  /**
   * Events read from the database per query while a stream catches up (a page
   * also stops at about 256 KiB of event data). Default 1000.
   */
  replayPageSize?: number;
  /**
   * A stream whose client takes no data for this long while events wait is
   * closed; the client resumes from its last id. Default 30000 ms.
   */
  slowClientTimeoutMs?: number;
  /**
   * Decides who may read which channel. Default: everyone may read every
   * channel. Give a provider of your app through `forRootAsync`'s `inject`.
   */
  authorizer?: ChannelAuthorizer<never, never>;
  /**
   * Sends events to each client as its stream opens, before stored ones
   * (see {@link StreamConnectHook}). Give a provider of your app through
   * `forRootAsync`'s `inject`.
   */
  onConnect?: StreamConnectHook<never, never>;
  /** Finds the user of a request. Default: `request.user`. */
  resolveUser?: UserResolver;
  /** A stable key for a user, to find their streams on revocation. Default: `id`, else `sub`. */
  identifyUser?: UserIdentifier;
  /** CORS for the events endpoint. Default: none (same origin only). */
  cors?: CorsOptions;
  /**
   * Hand streams to a GRIP proxy such as Pushpin. Default: none, the app
   * streams directly.
   */
  grip?: GripOptions;
  /**
   * Turns the user id a next link carries back into the user the authorizer
   * is asked about (GRIP mode: the proxy calls next links without cookies).
   * Default: `{ id }`.
   */
  loadUser?: (userId: string) => unknown;
  /**
   * Prometheus metrics (prom-client): `true` for the global registry, or
   * options. Default: off.
   */
  metrics?: boolean | MetricsOptions;
}
