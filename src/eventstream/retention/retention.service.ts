import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { messageOf } from '../errors/error-message';
import type { EventStreamConfig } from '../options/eventstream-config';
import { EVENT_STORE, type EventStore } from '../storage/event-store.interface';

/**
 * Trims old events on a timer. Every instance runs it; the deletes are
 * idempotent, so instances running at once only repeat a little work.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
  ) {}

  onApplicationBootstrap(): void {
    const policy = this.config.retention;
    if (!policy) return;
    this.timer = setInterval(() => void this.trimNow().catch(() => undefined), policy.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Runs one trim now (skipped while one is running); resolves with the events deleted. */
  async trimNow(): Promise<number> {
    const policy = this.config.retention;
    if (!policy) return 0;
    if (this.running) return this.running;
    this.running = this.store.trim(policy);
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
}
