import { IsIn, IsString, Matches, ValidateBy } from 'class-validator';
import { IntRange, Optional, Satisfies, shown } from '../options/option-rules';
import { statsProblem } from './stats/stats-address';

/**
 * Channels a held stream subscribes to besides its own: its user's
 * revocation channel and link channel (grip-names.ts).
 */
export const SUBSCRIPTIONS_BESIDES_CHANNELS = 2;

/**
 * Largest event data in GRIP mode (`limits.maxDataBytes`), escaped: Pushpin
 * refuses a GRIP reply over 100,000 bytes, and a reply that replays an event
 * carries it whole, with its id and type and the reply's headers.
 */
export const GRIP_MAX_DATA_BYTES = 64 * 1024;

/** The grip options declared without a default (their absence has a meaning). */
export type GripOptionsWithoutDefault = 'publicPath' | 'linkSecret' | 'stats';

/** Options of GRIP mode: Pushpin (or another GRIP proxy) holds the streams. */
export class GripOptions {
  /**
   * The proxy's publish API with its keys, in the standard form:
   * `http://127.0.0.1:5561/?iss=pushpin&key=<sig key>` for Pushpin, whose
   * `key` both signs publishes and verifies its `Grip-Sig` (at least 32
   * bytes). A proxy that signs with a key pair (Fastly Fanout) adds
   * `verify-key=<public key, PEM or JWK>` and `verify-iss=<issuer>`.
   * Several proxies: an array; every event is published to each.
   */
  @Satisfies(
    'isGripUrl',
    (value) =>
      typeof value === 'string' ||
      (Array.isArray(value) && value.length > 0 && value.every((url) => typeof url === 'string')),
    'url must be a GRIP URL string or a non-empty array of them',
  )
  url!: string | readonly string[];

  /**
   * What to do with a request that is not signed by the proxy: stream it
   * directly (`'direct'`) or refuse it with 403 (`'refuse'`). Default `'direct'`.
   */
  @Optional()
  @IsIn(['direct', 'refuse'], {
    message: (args) => `unsignedRequests must be 'direct' or 'refuse', got ${shown(args)}`,
  })
  unsignedRequests?: 'direct' | 'refuse' = 'direct';

  /**
   * Where the proxy reaches the events route, for next links, when its
   * routes rewrite paths. Default: the path of the request.
   */
  @Optional()
  @Matches(/^\/[^?#\s]*$/, {
    message: 'publicPath must be a path starting with / (no query, fragment or spaces)',
  })
  @IsString({ message: 'publicPath must be a string' })
  publicPath?: string;

  /**
   * Secret that signs next-link tokens: at least 32 bytes, at least 8
   * different characters. Default: derived from the first proxy's `key`
   * when its URL has no `verify-key`; required when it has one, since a
   * verify key may be public.
   */
  @Optional()
  @IsString({ message: 'linkSecret must be a string' })
  linkSecret?: string;

  /** How long a publish to a proxy may take, in milliseconds: 1–600000. Default 5000. */
  @Optional()
  @IntRange(600_000)
  publishTimeoutMs?: number = 5_000;

  /**
   * Pushpin's `connection_subscription_max`: how many channels one held
   * connection may subscribe to. Default 20, Pushpin's own. A held stream
   * subscribes to each of its channels plus two of its user's, so
   * `maxChannelsPerStream` may be at most this minus 2. Raise both together.
   */
  @Optional()
  @IntRange(100_000, SUBSCRIPTIONS_BESIDES_CHANNELS + 1)
  connectionSubscriptionMax?: number = 20;

  /**
   * Where each Pushpin publishes its statistics (its `stats_spec`, bound on
   * an address the app reaches): a ZeroMQ address, `tcp://host:port` or
   * `ipc://path`, or an array of them, one per Pushpin. Presence counts the
   * streams they hold. Needs the `zeromq` package. Default: none.
   */
  @Optional()
  @ValidateBy({
    name: 'isStatsAddresses',
    validator: {
      validate: (value: unknown) => statsProblem(value) === undefined,
      defaultMessage: (args) => `stats ${statsProblem(args?.value)}`,
    },
  })
  stats?: string | readonly string[];
}
