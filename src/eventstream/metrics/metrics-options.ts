import { Matches } from 'class-validator';
import { register as globalRegistry, type Registry } from 'prom-client';
import { Optional, Satisfies, isFunction } from '../options/option-rules';

/** Prometheus metrics of the module (opt-in). */
export class MetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  @Optional()
  @Satisfies(
    'isRegistry',
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      'registerMetric' in value &&
      isFunction(value.registerMetric),
    'registry must be a prom-client Registry',
  )
  registry?: Registry = globalRegistry;

  /** Prefix of every metric name. Default `'eventstream_'`. */
  @Optional()
  @Matches(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { message: 'prefix must be a metric name prefix' })
  prefix?: string = 'eventstream_';
}
