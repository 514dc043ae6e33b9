import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { EventStoreUnavailableError } from '../errors/eventstream.errors';
import type { EventStreamConfig } from '../options/eventstream-config';
import type { EventStore } from '../storage/event-store.interface';
import type { ReadSource } from '../storage/read-source';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const COUNT_BUCKETS = [0, 1, 10, 100, 1_000, 10_000, 100_000];

interface Instruments {
  readonly appended: Counter;
  readonly appendSeconds: Histogram;
  readonly storeErrors: Counter<'operation' | 'kind'>;
  readonly pageReads: Counter<'source' | 'reason'>;
  readonly publishSeconds: Histogram<'proxy'>;
  readonly publishRetries: Counter<'proxy'>;
  readonly publishFailures: Counter<'proxy'>;
  readonly openStreams: Gauge;
  readonly streamsRefused: Counter<'limit'>;
  readonly replayEvents: Histogram<'mode'>;
}

/**
 * The module's Prometheus metrics, when the `metrics` option is given;
 * without it every method does nothing. Metrics already registered under
 * the same name (a second module instance in one process) are shared.
 */
@Injectable()
export class EventStreamMetrics {
  /** Where the metrics live, to expose them (`await registry.metrics()`); undefined when off. */
  readonly registry: Registry | undefined;
  private readonly instruments: Instruments | undefined;
  private readonly openStreamCounters: (() => number)[] = [];

  constructor(@Inject(EVENTSTREAM_CONFIG) config: EventStreamConfig) {
    if (!config.metrics) return;
    const { registry, prefix } = config.metrics;
    this.registry = registry;
    const shared = <T extends Metric>(name: string, create: (name: string) => T): T =>
      (registry.getSingleMetric(prefix + name) as T | undefined) ?? create(prefix + name);
    const registers = [registry];
    const counters = this.openStreamCounters;
    this.instruments = {
      appended: shared(
        'events_appended_total',
        (name) =>
          new Counter({
            name,
            help: 'Events written by sends (in an app transaction: committed only if it commits)',
            registers,
          }),
      ),
      appendSeconds: shared(
        'append_duration_seconds',
        (name) =>
          new Histogram({
            name,
            help: 'Time to write a send (one or several events) to the database',
            buckets: LATENCY_BUCKETS,
            registers,
          }),
      ),
      storeErrors: shared(
        'store_errors_total',
        (name) =>
          new Counter({
            name,
            help: 'Failed event store operations, by operation and kind (unavailable or failed)',
            labelNames: ['operation', 'kind'],
            registers,
          }),
      ),
      pageReads: shared(
        'page_reads_total',
        (name) =>
          new Counter({
            name,
            help: 'Pages of events read (replay, history, next links), by source (replica or primary) and why there',
            labelNames: ['source', 'reason'],
            registers,
          }),
      ),
      publishSeconds: shared(
        'publish_duration_seconds',
        (name) =>
          new Histogram({
            name,
            help: 'Time of successful publish requests to a GRIP proxy',
            labelNames: ['proxy'],
            buckets: LATENCY_BUCKETS,
            registers,
          }),
      ),
      publishRetries: shared(
        'publish_retries_total',
        (name) =>
          new Counter({
            name,
            help: 'Publish requests to a GRIP proxy that failed and were retried',
            labelNames: ['proxy'],
            registers,
          }),
      ),
      publishFailures: shared(
        'publish_failures_total',
        (name) =>
          new Counter({
            name,
            help: 'Events (and revocations) given up after every retry (events are recovered through the next link or on reconnect)',
            labelNames: ['proxy'],
            registers,
          }),
      ),
      openStreams: shared(
        'open_streams',
        (name) =>
          new Gauge({
            name,
            help: 'Streams this instance holds open (direct mode)',
            registers,
            collect() {
              this.set(counters.reduce((sum, count) => sum + count(), 0));
            },
          }),
      ),
      streamsRefused: shared(
        'streams_refused_total',
        (name) =>
          new Counter({
            name,
            help: 'Stream requests refused by a cap on open streams, by limit (maxStreams: 503, maxStreamsPerClient: 429)',
            labelNames: ['limit'],
            registers,
          }),
      ),
      replayEvents: shared(
        'replay_events',
        (name) =>
          new Histogram({
            name,
            help: 'Events a connecting client was behind (direct) or got in its first reply (GRIP)',
            labelNames: ['mode'],
            buckets: COUNT_BUCKETS,
            registers,
          }),
      ),
    };
  }

  get enabled(): boolean {
    return this.instruments !== undefined;
  }

  /** The event store, counting writes, their time and every failure. */
  instrument(store: EventStore): EventStore {
    const metrics = this.instruments;
    if (!metrics) return store;
    const watch = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (error) {
        const kind = error instanceof EventStoreUnavailableError ? 'unavailable' : 'failed';
        metrics.storeErrors.inc({ operation, kind });
        throw error;
      }
    };
    return {
      append: (events, options) =>
        watch('append', async () => {
          const stop = metrics.appendSeconds.startTimer();
          const appended = await store.append(events, options);
          stop();
          metrics.appended.inc(appended.length);
          return appended;
        }),
      appendOnce: (events, key, options) =>
        watch('append', async () => {
          const stop = metrics.appendSeconds.startTimer();
          const result = await store.appendOnce(events, key, options);
          stop();
          if (!result.replayed) metrics.appended.inc(result.appended.length);
          return result;
        }),
      read: (...args) => watch('read', () => store.read(...args)),
      readLatest: (...args) => watch('readLatest', () => store.readLatest(...args)),
      headSeqs: (channels) => watch('headSeqs', () => store.headSeqs(channels)),
      trim: (policy) => watch('trim', () => store.trim(policy)),
      // Health reports its own failures; a probe polling a database that is
      // down would otherwise flood the error counter with its retries.
      ping: () => store.ping(),
    };
  }

  /** Counts a page read by where it was answered. */
  recordPageRead(read: ReadSource): void {
    this.instruments?.pageReads.inc({ source: read.source, reason: read.reason });
  }

  /** Counts the streams `count` reports in the open-streams gauge. */
  countOpenStreams(count: () => number): void {
    this.openStreamCounters.push(count);
  }

  recordStreamRefused(limit: 'maxStreams' | 'maxStreamsPerClient'): void {
    this.instruments?.streamsRefused.inc({ limit });
  }

  recordReplay(mode: 'direct' | 'grip', events: number): void {
    this.instruments?.replayEvents.observe({ mode }, events);
  }

  recordPublish(proxy: string, seconds: number): void {
    this.instruments?.publishSeconds.observe({ proxy }, seconds);
  }

  recordPublishRetry(proxy: string): void {
    this.instruments?.publishRetries.inc({ proxy });
  }

  recordPublishFailure(proxy: string, publishes: number): void {
    this.instruments?.publishFailures.inc({ proxy }, publishes);
  }
}
