import type { Pool } from 'pg';
import type { EventLimits } from '../events/event-limits';

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

/** The module options, validated once and with every default filled in. */
export interface EventStreamConfig {
  readonly connection: DatabaseConnectionConfig;
  readonly schema: string;
  readonly migrate: boolean;
  readonly retention: RetentionPolicy | null;
  readonly limits: EventLimits;
}
