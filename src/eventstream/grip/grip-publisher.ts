import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type IGripConfig, type IItem, type IItemExport, Publisher } from '@fanoutio/grip';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { messageOf } from '../errors/error-message';
import type { EventStreamConfig } from '../options/eventstream-config';
import { encodeFrame, streamErrorFrame } from '../sse/sse-frames';
import { escapePercent, pushpinChannel, pushpinUserChannel } from './grip-names';

export interface CommittedEvent {
  readonly channel: string;
  readonly seq: number;
  readonly type: string;
  readonly json: string;
}

const RETRY_DELAYS_MS = [100, 500, 2_000];

/** One event as a GRIP item: ids chain per channel, and each client gets its own composite id. */
class EventItem implements IItem {
  constructor(private readonly event: CommittedEvent) {}

  export(): IItemExport {
    const { type, seq, json } = this.event;
    // `%I` is filled in per connection by Pushpin's build-id filter; every
    // other `%` must reach the client as itself.
    const frame = encodeFrame({ event: escapePercent(type), id: '%I', data: escapePercent(json) });
    return {
      id: String(seq),
      'prev-id': String(seq - 1),
      formats: { 'http-stream': { content: frame, 'content-filters': ['build-id'] } },
    };
  }
}

/** An item for the per-user channel, delivered only to connections on `requireSub`. */
class UserItem implements IItem {
  constructor(
    private readonly format: IItemExport['formats'][string],
    private readonly requireSub: string,
  ) {}

  export(): IItemExport {
    const item = {
      formats: { 'http-stream': this.format },
      meta: { require_sub: this.requireSub },
    };
    return item;
  }
}

/**
 * Publishes committed events to every GRIP proxy. Per channel, publishes
 * leave in commit order; a publish that fails is retried, then given up:
 * the event is stored, and Pushpin's prev-id check or the client's
 * reconnect brings it. Publishing never delays or fails a send.
 */
@Injectable()
export class GripPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private readonly publishers: Publisher[];
  private readonly queues = new Map<string, Promise<void>>();
  failures = 0;
  private closed = false;

  constructor(@Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig) {
    this.publishers = (config.grip?.proxies ?? []).map(
      ({ config: proxy }) => new Publisher(proxy as IGripConfig),
    );
  }

  get enabled(): boolean {
    return this.publishers.length > 0;
  }

  publish(events: readonly CommittedEvent[]): void {
    for (const event of events) {
      const previous = this.queues.get(event.channel) ?? Promise.resolve();
      const next = previous.then(() => this.publishOne(event));
      this.queues.set(event.channel, next);
      void next.finally(() => {
        if (this.queues.get(event.channel) === next) this.queues.delete(event.channel);
      });
    }
  }

  /**
   * Checks that each proxy's publish API answers. The app starts either way:
   * events are stored, and reach clients once the proxy is there.
   */
  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(
      (this.config.grip?.proxies ?? []).map(async ({ publishUri }) => {
        const where = new URL(publishUri).origin;
        try {
          const response = await fetch(new URL('publish/', `${publishUri.replace(/\/?$/, '/')}`), {
            signal: AbortSignal.timeout(this.config.grip?.publishTimeoutMs ?? 5_000),
          });
          await response.body?.cancel();
          this.logger.log(`GRIP proxy publish API at ${where} answers`);
        } catch (error) {
          this.logger.error(
            `GRIP proxy publish API at ${where} does not answer (${messageOf(error)}): ` +
              'events are stored but reach clients only once it does',
          );
        }
      }),
    );
  }

  /** Stops retrying: what is not published yet is recovered by the proxy or on reconnect. */
  onApplicationShutdown(): void {
    this.closed = true;
  }

  /**
   * Ends `userId`'s streams on `channel` that the proxy holds, and only
   * those: every held stream also listens on its user's channel, with the
   * `require-sub` filter, so the items reach only connections that are
   * subscribed to `channel` as well.
   */
  async revoke(userId: string, channel: string, text: string): Promise<void> {
    const requireSub = pushpinChannel(channel);
    const userChannel = pushpinUserChannel(userId);
    const error = streamErrorFrame('forbidden', text);
    await Promise.all(
      this.publishers.map(async (publisher) => {
        await this.withTimeout(
          publisher.publish(userChannel, new UserItem({ content: error }, requireSub)),
        );
        await this.withTimeout(
          publisher.publish(userChannel, new UserItem({ action: 'close' }, requireSub)),
        );
      }),
    );
  }

  /** Resolves once everything queued so far has been published or given up. */
  async flush(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  private async publishOne(event: CommittedEvent): Promise<void> {
    const channel = pushpinChannel(event.channel);
    await Promise.all(
      this.publishers.map(async (publisher) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await this.withTimeout(publisher.publish(channel, new EventItem(event)));
            return;
          } catch (error) {
            if (attempt >= RETRY_DELAYS_MS.length || this.closed) {
              this.failures++;
              this.logger.warn(
                `Publish of ${event.channel}:${event.seq} to the proxy failed: ${messageOf(error)}`,
              );
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]).unref());
          }
        }
      }),
    );
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    const timeoutMs = this.config.grip?.publishTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
}
