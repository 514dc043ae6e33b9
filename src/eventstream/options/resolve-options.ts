import { EventStreamConfigError } from '../errors/eventstream.errors';
import { type GripSettings, resolveGripSettings } from '../grip/grip-config';
import {
  GRIP_MAX_DATA_BYTES,
  type GripOptions,
  type GripOptionsWithoutDefault,
  SUBSCRIPTIONS_BESIDES_CHANNELS,
} from '../grip/grip-options';
import { defaultMaxStreams, readOpenFilesLimit } from '../limits/open-files-limit';
import { MetricsOptions } from '../metrics/metrics-options';
import type { EventStreamConfig } from './eventstream-config';
import { EventStreamModuleOptions, type OptionsWithoutDefault } from './eventstream-options';
import { type Filled, problemsOf, withDefaults } from './option-rules';

/**
 * Validates the module options once, at start-up, and fills in the defaults
 * they declare. Every problem is reported at once, each with the option's path.
 */
export function resolveOptions(given: EventStreamModuleOptions): EventStreamConfig {
  if (typeof given !== 'object' || given === null) {
    throw new EventStreamConfigError(['options must be an object']);
  }
  const options = withDefaults(EventStreamModuleOptions, given);
  const problems = problemsOf(options);
  const { databaseUrl, pool } = options;
  if (databaseUrl === undefined && pool === undefined) {
    problems.push('give either databaseUrl or pool');
  } else if (databaseUrl !== undefined && pool !== undefined) {
    problems.push('give either databaseUrl or pool, not both');
  }
  // Duck-typed: the app's pool may come from another copy of `pg`.
  if (pool && (typeof pool.connect !== 'function' || typeof pool.query !== 'function')) {
    problems.push('pool must be a pg Pool');
  }
  let grip: GripSettings | null = null;
  // Keys are read only from a grip object of the right shape.
  if (options.grip && !problems.some((problem) => problem.startsWith('grip'))) {
    const gripOptions = options.grip as Filled<GripOptions, GripOptionsWithoutDefault>;
    grip = resolveGripSettings(gripOptions, problems);
    problems.push(...gripLimitProblems(options, gripOptions));
  }
  if (problems.length > 0) throw new EventStreamConfigError(problems);
  // Valid, so every option has its value or its default but those without one.
  return resolved(options as Filled<EventStreamModuleOptions, OptionsWithoutDefault>, grip);
}

/** What a GRIP proxy cannot carry, defaults included. */
function gripLimitProblems(
  options: EventStreamModuleOptions,
  grip: Filled<GripOptions, GripOptionsWithoutDefault>,
): string[] {
  const problems: string[] = [];
  const subscriptionMax = grip.connectionSubscriptionMax;
  const channelsMax = subscriptionMax - SUBSCRIPTIONS_BESIDES_CHANNELS;
  if ((options.maxChannelsPerStream ?? 0) > channelsMax) {
    problems.push(
      `maxChannelsPerStream: at most ${channelsMax} with grip, since a held stream also subscribes to its user's two channels and Pushpin's connection_subscription_max is ${subscriptionMax}; raise that in pushpin.conf and set grip.connectionSubscriptionMax to match`,
    );
  }
  if ((options.limits?.maxDataBytes ?? 0) > GRIP_MAX_DATA_BYTES) {
    problems.push(
      `limits.maxDataBytes: at most ${GRIP_MAX_DATA_BYTES} with grip, since a GRIP reply that replays an event must stay under Pushpin's limit of 100,000 bytes`,
    );
  }
  return problems;
}

/** Valid options, as the library's providers read them. */
function resolved(
  options: Filled<EventStreamModuleOptions, OptionsWithoutDefault>,
  grip: GripSettings | null,
): EventStreamConfig {
  const { databaseUrl, pool, poolSize, connectTimeoutMs, queryTimeoutMs, ...carried } = options;
  const { retention, limits, maxStreams, maxStreamsPerClient, cors, metrics, presence } = carried;
  return {
    ...carried,
    connection: pool
      ? { kind: 'pool', pool }
      : {
          kind: 'url',
          databaseUrl: databaseUrl as string,
          poolSize,
          connectTimeoutMs,
          queryTimeoutMs,
        },
    retention: retention === false ? null : filled(retention),
    eventPayloads: new Map(Object.entries(carried.eventPayloads)),
    limits: filled(limits),
    maxStreams:
      maxStreams ??
      defaultMaxStreams(
        readOpenFilesLimit(),
        // pg's own default pool size, for a pool given without `max`; as
        // many again to each replica.
        (pool ? (pool.options?.max ?? 10) : poolSize) * (1 + carried.replicas.length),
      ),
    maxStreamsPerClient: maxStreamsPerClient ? filled(maxStreamsPerClient) : null,
    cors: cors ? filled(cors) : null,
    presence: filled(presence),
    grip,
    metrics: metrics === true ? filled(new MetricsOptions()) : metrics ? filled(metrics) : null,
  };
}

/**
 * A group of options as {@link withDefaults} filled it in: once valid, each
 * of its options has a value, given or default (these groups declare none
 * without one). resolve-options.spec.ts checks that none is left undefined.
 */
function filled<T extends object>(group: T): Filled<T> {
  return group as Filled<T>;
}
