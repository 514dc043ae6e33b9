import type { Type } from '@nestjs/common';
import type { Pool } from 'pg';
import type { EventLimits } from '../events/event-limits';
import type { GripSettings } from '../grip/grip-config';
import type { MetricsOptions } from '../metrics/metrics-options';
import type {
  CorsOptions,
  EventStreamModuleOptions,
  PresenceOptions,
  RetentionOptions,
  StreamsPerClientOptions,
} from './eventstream-options';

/** Where the library's connections come from: `databaseUrl` and its pool settings, or `pool`. */
export type DatabaseConnection =
  | ({ readonly kind: 'url' } & Readonly<
      Required<
        Pick<
          EventStreamModuleOptions,
          'databaseUrl' | 'poolSize' | 'connectTimeoutMs' | 'queryTimeoutMs'
        >
      >
    >)
  | { readonly kind: 'pool'; readonly pool: Pool };

/** The options that resolveOptions turns into something else, or reads into `connection`. */
interface ResolvedOptions {
  readonly connection: DatabaseConnection;
  /** `null` for `retention: false`. */
  readonly retention: Readonly<Required<RetentionOptions>> | null;
  readonly eventPayloads: ReadonlyMap<string, Type<object>>;
  readonly limits: EventLimits;
  readonly maxStreams: number;
  readonly maxStreamsPerClient: Readonly<Required<StreamsPerClientOptions>> | null;
  readonly cors: Readonly<Required<CorsOptions>> | null;
  readonly presence: Readonly<Required<PresenceOptions>>;
  readonly grip: GripSettings | null;
  /** `null` when off. */
  readonly metrics: Readonly<Required<MetricsOptions>> | null;
}

type ConnectionOptions =
  'databaseUrl' | 'pool' | 'poolSize' | 'connectTimeoutMs' | 'queryTimeoutMs';

/**
 * The module options, validated once and with every default filled in. An
 * option whose value is only carried has its own name and type here; the
 * others are resolved into what their readers need.
 */
export type EventStreamConfig = ResolvedOptions &
  Readonly<Required<Omit<EventStreamModuleOptions, keyof ResolvedOptions | ConnectionOptions>>>;
