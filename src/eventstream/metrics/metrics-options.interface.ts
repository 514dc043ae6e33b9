import type { Registry } from 'prom-client';

/** Prometheus metrics of the module (opt-in). */
export interface MetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Prefix of every metric name. Default `eventstream_`. */
  prefix?: string;
}
