import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { messageOf } from '../errors/error-message';
import type { EventStreamConfig } from '../options/eventstream-config';
import { RetentionOptions } from '../options/eventstream-options';
import { EVENT_STORE, type EventStore, type TrimPolicy } from '../storage/event-store.interface';

/** With `retention: false`, expired idempotency keys are still trimmed, at the default interval. */
const KEYS_ONLY = new RetentionOptions();

/**
 * Trims old events and expired idempotency keys on a timer. Every instance
 * runs it; the deletes are idempotent, so instances running at once only
 * repeat a little work. With `retention: false` it trims keys only.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
  ) {}

  onApplicationBootstrap(): void {
    const intervalMs = (this.config.retention ?? KEYS_ONLY).intervalMs;
    this.timer = setInterval(() => void this.trimNow().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  /** Before shutdown hooks, which end the database pool, run: a trim in progress ends first. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Runs one trim now (skipped while one is running); resolves with the events deleted. */
  async trimNow(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.store.trim(this.policy());
    try {
      const deleted = await this.running;
      if (deleted > 0) this.logger.log(`Retention trimmed ${deleted} events.`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Retention trim failed: ${messageOf(error)}`);
      throw error;
    } finally {
      this.running = undefined;
    }
  }

  private policy(): TrimPolicy {
    const { retention, idempotencyWindowMs } = this.config;
    return retention
      ? {
          maxEventsPerChannel: retention.maxEventsPerChannel,
          maxAgeMs: retention.maxAgeMs,
          idempotencyWindowMs,
        }
      : { maxEventsPerChannel: null, maxAgeMs: null, idempotencyWindowMs };
  }
}
