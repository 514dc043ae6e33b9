import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Auth, IItemExport } from '@fanoutio/grip';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { messageOf } from '../errors/error-message';
import { formatEventId } from '../events/event-id';
import type { EventStreamConfig } from '../options/eventstream-config';
import { encodeFrame, streamErrorFrame } from '../sse/sse-frames';
import { EventStreamMetrics } from '../metrics/eventstream-metrics';
import { CHANGE_FEED, type ChangeFeed } from '../storage/change-feed.interface';
import type { AppendTicket, CommittedEvent } from '../delivery/committed-event';
import { CommitOrder } from './commit-order';
import type { GripProxy } from './grip-url';
import { gripLibrary } from './grip-library';
import {
  escapePercent,
  pushpinChannel,
  pushpinCompositeChannel,
  pushpinUserChannel,
} from './grip-names';
import { PendingCommits } from './pending-commits';

const RETRY_DELAYS_MS = [100, 500, 2_000];

/**
 * One event as GRIP items, ids chained per channel: for the streams of its
 * channel alone, with its SSE id as it is, and for streams of several
 * channels, where each client gets its own composite id.
 */
function eventItems(event: CommittedEvent): [IItemExport, IItemExport] {
  const chain = { id: String(event.seq), 'prev-id': String(event.seq - 1) };
  const single = encodeFrame({
    event: event.type,
    id: formatEventId(event.channel, event.seq),
    data: event.json,
  });
  // `%I` is filled in per connection by Pushpin's build-id filter; every
  // other `%` must reach the client as itself.
  const composite = encodeFrame({
    event: escapePercent(event.type),
    id: '%I',
    data: escapePercent(event.json),
  });
  return [
    {
      channel: pushpinChannel(event.channel),
      ...chain,
      formats: { 'http-stream': { content: single } },
    },
    {
      channel: pushpinCompositeChannel(event.channel),
      ...chain,
      formats: { 'http-stream': { content: composite, 'content-filters': ['build-id'] } },
    },
  ];
}

/** An item for a per-user channel, delivered only to connections also on `requireSub`. */
function userItem(
  channel: string,
  format: IItemExport['formats'][string],
  requireSub: string,
): IItemExport {
  const item = { channel, formats: { 'http-stream': format }, meta: { require_sub: requireSub } };
  return item;
}

/** Items in one publish request, and their body size, at most (Pushpin takes 1 MB). */
const MAX_BATCH_ITEMS = 200;
const MAX_BATCH_BYTES = 800_000;
/**
 * Publish requests in flight to one proxy at most (see docs/grip.md,
 * Publishing): Pushpin answers a publish only once its handler has taken it,
 * and holds an item that overtakes the one before it for `message_wait`.
 */
const MAX_IN_FLIGHT = 4;

/**
 * One event's items, or one revocation's, which go in one request: encoded
 * once, however many proxies they go to.
 */
interface Publish {
  /** The items' JSON, without the array's brackets: a piece of a request body's array. */
  readonly json: string;
  readonly items: number;
  readonly bytes: number;
}

function encodePublish(items: readonly IItemExport[]): Publish {
  const json = JSON.stringify(items).slice(1, -1);
  return { json, items: items.length, bytes: Buffer.byteLength(json) };
}

interface Pending extends Publish {
  /** Nothing queued after it may reach the proxy before it: a revocation. */
  readonly barrier: boolean;
  readonly done: () => void;
}

/**
 * The publish queue of one proxy. Requests leave in the order their items
 * were queued (per channel: commit order), up to {@link MAX_IN_FLIGHT} at a
 * time, and whatever queues up while that many are out goes together in the
 * next request. Nothing new leaves while a request is being retried (so a
 * failed publish is not overtaken for longer than Pushpin waits), nor while
 * a revocation is out (its items carry no id for Pushpin to order by).
 */
class ProxyQueue {
  private readonly pending: Pending[] = [];
  private inFlight = 0;
  private retrying = 0;
  private barrierOut = false;
  private drainScheduled = false;
  /** The proxy's publish API. */
  readonly url: string;
  private readonly auth: Auth.IAuth | undefined;

  constructor(
    config: GripProxy,
    private readonly send: (url: string, body: string, auth: string | undefined) => Promise<void>,
    /** `publishes`: events and revocations. */
    private readonly onGiveUp: (publishes: number, error: unknown) => void,
    private readonly isClosed: () => boolean,
    private readonly metrics: EventStreamMetrics,
  ) {
    const url = new URL(config.control_uri);
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    url.pathname += 'publish/';
    this.url = url.toString();
    // As @fanoutio/grip's own client authenticates: a JWT with `iss`, else a bearer key.
    const { control_iss: iss, key } = config;
    const { Auth } = gripLibrary();
    if (iss !== undefined) {
      this.auth = new Auth.Jwt(
        { iss },
        typeof key === 'string' ? new TextEncoder().encode(key) : new Uint8Array(),
      );
    } else if (typeof key === 'string') this.auth = new Auth.Bearer(key);
  }

  enqueue(publish: Publish, barrier = false): Promise<void> {
    return new Promise((done) => {
      this.pending.push({ ...publish, barrier, done });
      // Later in this turn, so that what is queued together (a commit's
      // events) leaves together.
      if (this.drainScheduled) return;
      this.drainScheduled = true;
      queueMicrotask(() => {
        this.drainScheduled = false;
        this.drain();
      });
    });
  }

  private drain(): void {
    while (
      this.pending.length > 0 &&
      this.inFlight < MAX_IN_FLIGHT &&
      this.retrying === 0 &&
      !this.barrierOut
    ) {
      const batch = this.pending.splice(0, this.batchLength());
      const barrier = batch.some((pending) => pending.barrier);
      this.inFlight++;
      this.barrierOut = barrier;
      void this.publish(batch).finally(() => {
        this.inFlight--;
        if (barrier) this.barrierOut = false;
        batch.forEach((p) => p.done());
        this.drain();
      });
    }
  }

  /** How many of the first pending publishes fit in one request. */
  private batchLength(): number {
    let bytes = 0;
    let items = 0;
    let count = 0;
    while (
      count < this.pending.length &&
      (count === 0 ||
        (items + this.pending[count].items <= MAX_BATCH_ITEMS &&
          bytes + this.pending[count].bytes <= MAX_BATCH_BYTES))
    ) {
      items += this.pending[count].items;
      bytes += this.pending[count++].bytes;
    }
    return count;
  }

  private async publish(batch: readonly Pending[]): Promise<void> {
    const body = `{"items":[${batch.map((pending) => pending.json).join(',')}]}`;
    const proxy = new URL(this.url).origin;
    let retried = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const started = performance.now();
          await this.send(this.url, body, await this.auth?.buildHeader());
          this.metrics.recordPublish(proxy, (performance.now() - started) / 1000);
          return;
        } catch (error) {
          if (attempt >= RETRY_DELAYS_MS.length || this.isClosed()) {
            this.metrics.recordPublishFailure(proxy, batch.length);
            this.onGiveUp(batch.length, error);
            return;
          }
          if (!retried) {
            retried = true;
            this.retrying++;
          }
          this.metrics.recordPublishRetry(proxy);
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]).unref());
        }
      }
    } finally {
      if (retried) this.retrying--;
    }
  }
}

/**
 * Publishes committed events to every GRIP proxy, in commit order per
 * channel, several items per request under load, with a timeout and
 * retries. A publish that still fails is given up: the event is stored, and
 * Pushpin's prev-id check (through the next link) or the client's reconnect
 * brings it. Publishing never delays or fails a send.
 */
@Injectable()
export class GripPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private readonly queues: ProxyQueue[];
  private closed = false;
  private readonly commitOrder = new CommitOrder((events) => this.publish(events));

  private readonly pendingCommits = new PendingCommits();
  private unsubscribe?: () => void;
  /** Without `grip` there are no proxies, so nothing is ever asked with it. */
  private readonly publishTimeoutMs: number;

  constructor(
    @Inject(EVENTSTREAM_CONFIG) config: EventStreamConfig,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    metrics: EventStreamMetrics,
  ) {
    this.publishTimeoutMs = config.grip?.publishTimeoutMs ?? 0;
    this.queues = (config.grip?.proxies ?? []).map(
      (proxy) =>
        new ProxyQueue(
          proxy,
          (url, body, auth) => this.post(url, body, auth),
          (publishes, error) => {
            this.logger.warn(
              `Gave up publishing ${publishes} events or revocations to the proxy: ${messageOf(error)}`,
            );
          },
          () => this.closed,
          metrics,
        ),
    );
  }

  private get enabled(): boolean {
    return this.queues.length > 0;
  }

  /**
   * Call before appending events on `channels`, and report the outcome on
   * the ticket: committed events are published in commit order per channel.
   */
  beginAppend(channels: Iterable<string>): AppendTicket {
    return this.commitOrder.begin(channels);
  }

  /**
   * Events written in an app's transaction: published once the change feed
   * hears `marker`, which the append announces only if that transaction
   * commits.
   */
  publishWhenCommitted(marker: string, events: readonly CommittedEvent[]): void {
    this.pendingCommits.add(marker, events);
  }

  private publish(events: readonly CommittedEvent[]): void {
    for (const event of events) {
      const publish = encodePublish(eventItems(event));
      for (const queue of this.queues) void queue.enqueue(publish);
    }
  }

  /**
   * Listens for the commits of apps' transactions, and checks that each
   * proxy's publish API answers. The app starts either way: events are
   * stored, and reach clients once the proxy is there.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    this.unsubscribe = this.feed.subscribe({
      onCommitted: (marker) => {
        const events = this.pendingCommits.take(marker);
        if (events) this.publish(events);
      },
      onHead: () => undefined,
      onPermissionChanged: () => undefined,
      onResync: () => undefined,
    });
    await this.feed.ready();
    for (const { proxy, error } of await this.checkProxies()) {
      if (error === undefined) this.logger.log(`GRIP proxy publish API at ${proxy} answers`);
      else {
        this.logger.error(
          `GRIP proxy publish API at ${proxy} does not answer (${error}): ` +
            'events are stored but reach clients only once it does',
        );
      }
    }
  }

  /** Whether each proxy's publish API answers (any HTTP answer counts), by its origin. */
  checkProxies(): Promise<{ readonly proxy: string; readonly error?: string }[]> {
    return Promise.all(
      this.queues.map(async ({ url }) => {
        const proxy = new URL(url).origin;
        try {
          const response = await fetch(url, {
            signal: AbortSignal.timeout(this.publishTimeoutMs),
          });
          await response.body?.cancel();
          return { proxy };
        } catch (error) {
          return { proxy, error: messageOf(error) };
        }
      }),
    );
  }

  /** Stops retrying: what is not published yet is recovered by the proxy or on reconnect. */
  onApplicationShutdown(): void {
    this.closed = true;
    this.unsubscribe?.();
  }

  /**
   * Ends `userId`'s streams on `channel` that the proxy holds, and only
   * those: every held stream also listens on its user's channel, with the
   * `require-sub` filter, so the items reach only connections that are
   * subscribed to `channel` as well.
   */
  async revoke(userId: string, channel: string, text: string): Promise<void> {
    const userChannel = pushpinUserChannel(userId);
    const error = streamErrorFrame('forbidden', text);
    // A stream holds the channel by one of its two names.
    const items = [pushpinChannel(channel), pushpinCompositeChannel(channel)].flatMap(
      (requireSub) => [
        userItem(userChannel, { content: error }, requireSub),
        userItem(userChannel, { action: 'close' }, requireSub),
      ],
    );
    const publish = encodePublish(items);
    await Promise.all(this.queues.map((queue) => queue.enqueue(publish, true)));
  }

  private async post(url: string, body: string, auth: string | undefined): Promise<void> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
      body,
      signal: AbortSignal.timeout(this.publishTimeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}
