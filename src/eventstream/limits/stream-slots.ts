import { Inject, Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { TooManyStreamsError } from '../errors/eventstream.errors';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { EventStreamMetrics } from '../metrics/eventstream-metrics';
import type { EventStreamConfig } from '../options/eventstream-config';

/**
 * Counts the streams this instance holds (`maxStreams`) and those of each
 * client (`maxStreamsPerClient`). A slot is taken synchronously, before the
 * request's first await, so requests arriving together can never exceed a
 * cap; it is given back when the response closes, however it ends.
 */
@Injectable()
export class StreamSlots {
  private held = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    private readonly metrics: EventStreamMetrics,
  ) {}

  /** Streams holding a slot, from the moment they were admitted. */
  get size(): number {
    return this.held;
  }

  /**
   * Takes a slot for a stream that will be answered on `response`, or throws
   * a {@link TooManyStreamsError}. `request` is the platform's request, as
   * the key function gets it. The slot is freed by the response's `close`
   * event; a response that has closed already (its client left) takes none.
   */
  take(request: object, response: ServerResponse): void {
    // Node sets `destroyed` as it emits `close`: that event will not come again.
    if (response.destroyed) return;
    const { maxStreams, maxStreamsPerClient: perClient } = this.config;
    if (this.held >= maxStreams) this.refuse('maxStreams', maxStreams);
    let key: string | undefined;
    if (perClient) {
      key = perClient.key(request);
      if (typeof key !== 'string') {
        throw new TypeError(`maxStreamsPerClient.key must return a string, got ${typeof key}`);
      }
      if ((this.byClient.get(key) ?? 0) >= perClient.max) {
        this.refuse('maxStreamsPerClient', perClient.max);
      }
      this.byClient.set(key, (this.byClient.get(key) ?? 0) + 1);
    }
    this.held++;
    response.once('close', () => this.give(key));
  }

  private give(key: string | undefined): void {
    this.held--;
    if (key === undefined) return;
    const count = (this.byClient.get(key) ?? 1) - 1;
    if (count > 0) this.byClient.set(key, count);
    else this.byClient.delete(key);
  }

  private refuse(limit: 'maxStreams' | 'maxStreamsPerClient', max: number): never {
    this.metrics.recordStreamRefused(limit);
    throw new TooManyStreamsError(limit, max);
  }
}
