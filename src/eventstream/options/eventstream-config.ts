import type { Type } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ChannelAuthorizer } from '../auth/channel-authorizer.interface';
import type { UserIdentifier, UserResolver } from '../auth/user-identity';
import type { StreamConnectHook } from '../connect/stream-connect-hook.interface';
import type { EventLimits } from '../events/event-limits';
import type { GripSettings } from '../grip/grip-config';
import type { MetricsOptions } from '../metrics/metrics-options.interface';

export type DatabaseConnectionConfig =
  | {
      readonly kind: 'url';
      readonly url: string;
      readonly poolSize: number;
      readonly connectTimeoutMs: number;
      readonly queryTimeoutMs: number;
    }
  | { readonly kind: 'pool'; readonly pool: Pool };

export interface RetentionPolicy {
  readonly maxEventsPerChannel: number | null;
  readonly maxAgeMs: number | null;
  readonly intervalMs: number;
}

export interface StreamSettings {
  readonly maxChannels: number;
  readonly keepAliveMs: number;
  readonly pageSize: number;
  readonly slowClientTimeoutMs: number;
}

export interface StreamLimits {
  readonly maxStreams: number;
  readonly perClient: { readonly max: number; readonly key: (request: object) => string } | null;
}

export interface CorsPolicy {
  readonly origins: readonly string[] | '*';
  readonly credentials: boolean;
  readonly maxAgeSeconds: number;
}

/** The module options, validated once and with every default filled in. */
export interface EventStreamConfig {
  readonly connection: DatabaseConnectionConfig;
  readonly schema: string;
  readonly migrate: boolean;
  readonly retention: RetentionPolicy | null;
  readonly limits: EventLimits;
  readonly eventPayloads: ReadonlyMap<string, Type<object>>;
  readonly stream: StreamSettings;
  readonly streamLimits: StreamLimits;
  readonly authorizer: ChannelAuthorizer<unknown, unknown> | null;
  readonly onConnect: StreamConnectHook<unknown, unknown> | null;
  readonly resolveUser: UserResolver;
  readonly identifyUser: UserIdentifier;
  readonly cors: CorsPolicy | null;
  readonly grip: GripSettings | null;
  readonly loadUser: (userId: string) => unknown;
  readonly metrics: MetricsOptions | null;
}
