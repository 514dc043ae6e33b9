import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { authorize } from '../auth/authorize';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import type { CommittedEvent } from '../delivery/committed-event';
import { messageOf } from '../errors/error-message';
import type { EventStreamConfig } from '../options/eventstream-config';
import {
  CHANGE_FEED,
  type ChangeFeed,
  type ChangeListener,
} from '../storage/change-feed.interface';
import { EVENT_STORE, type EventStore } from '../storage/event-store.interface';
import { EventStreamMetrics } from '../metrics/eventstream-metrics';
import { PresenceTracker } from '../presence/presence-tracker';
import type { StreamCloseReason } from '../sse/stream-session';
import { SharedReads } from './shared-reads';
import { StreamConnection } from './stream-connection';

export interface OpenStreamRequest {
  readonly channels: readonly string[];
  readonly user: unknown;
  readonly request: object;
  readonly response: ServerResponse;
}

/**
 * The open streams of this instance (direct mode), indexed by channel and by
 * user. It hears every instance's commits through the change feed and wakes
 * the streams of each channel.
 */
@Injectable()
export class StreamHub implements ChangeListener, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private readonly byChannel = new Map<string, Set<StreamConnection>>();
  private readonly byUser = new Map<string, Set<StreamConnection>>();
  private readonly all = new Set<StreamConnection>();
  private readonly reads: SharedReads;
  private unsubscribe?: () => void;
  private resyncTimer?: NodeJS.Timeout;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
    metrics: EventStreamMetrics,
    private readonly presence: PresenceTracker,
  ) {
    this.reads = new SharedReads(store);
    metrics.countOpenStreams(() => this.size);
  }

  /** Number of open streams on this instance. */
  get size(): number {
    return this.all.size;
  }

  /**
   * Registers a stream, subscribed to its channels, then reads their heads.
   * Subscribing first means no commit can fall between the heads it reads
   * and the notifications it hears.
   */
  async open(request: OpenStreamRequest): Promise<{
    connection: StreamConnection;
    heads: Map<string, number>;
  }> {
    this.unsubscribe ??= this.feed.subscribe(this);
    // Announcements come after commits, from the instance that committed: one
    // that died in between never told. Re-reading the heads now and then
    // bounds how late such events are.
    this.resyncTimer ??= setInterval(() => this.onResync(), this.config.keepAliveMs);
    this.resyncTimer.unref();
    await this.feed.ready();
    const connection = new StreamConnection(
      request.channels,
      request.user,
      this.config.identifyUser(request.user),
      request.request,
      request.response,
      this.reads,
      this.config,
      this.removeClosed,
    );
    this.add(connection);
    try {
      return { connection, heads: await this.store.headSeqs(request.channels) };
    } catch (error) {
      this.remove(connection, 'error');
      throw error;
    }
  }

  /** Events this instance committed: streams that keep up take them without a read. */
  committed(events: readonly CommittedEvent[]): void {
    this.reads.committed(events);
  }

  onHead(channel: string, headSeq: number): void {
    for (const connection of this.byChannel.get(channel) ?? []) {
      connection.notifyHead(channel, headSeq);
    }
  }

  onResync(): void {
    const channels = [...this.byChannel.keys()];
    if (channels.length === 0) return;
    this.store.headSeqs(channels).then(
      (heads) => heads.forEach((seq, channel) => this.onHead(channel, seq)),
      (error: unknown) => this.logger.warn(`Resync failed: ${messageOf(error)}`),
    );
  }

  onPermissionChanged(userId: string, channel: string): void {
    void this.recheck(userId, channel);
  }

  /** Asks the authorizer again for `userId`'s streams on `channel`; closes those now denied. */
  async recheck(userId: string, channel: string): Promise<void> {
    const streams = [...(this.byUser.get(userId) ?? [])].filter((s) =>
      s.channels.includes(channel),
    );
    await Promise.all(
      streams.map(async (stream) => {
        try {
          const decision = await authorize(this.authorizer, stream.user, channel, stream.request);
          if (!decision.allowed) {
            stream.fail('revoked', 'forbidden', `Access to channel ${channel} was revoked`);
          } else if (decision.expiresAt) stream.expireAt(decision.expiresAt);
        } catch (error) {
          this.logger.error(`Authorizer failed on re-check: ${messageOf(error)}`);
          stream.fail('error', 'internal-error', 'Authorization could not be checked');
        }
      }),
    );
  }

  // Before, not on, shutdown: the HTTP server only finishes closing once
  // every open stream has ended, and presence is written while the pool is open.
  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.resyncTimer);
    for (const stream of this.all) stream.close('shutdown');
    await this.presence.stop();
  }

  private add(connection: StreamConnection): void {
    this.all.add(connection);
    this.presence.opened(connection.channels, connection.userId);
    for (const channel of connection.channels) addTo(this.byChannel, channel, connection);
    if (connection.userId !== undefined) addTo(this.byUser, connection.userId, connection);
  }

  // One function for every stream, rather than a closure per stream.
  private readonly removeClosed = (connection: StreamConnection, reason: StreamCloseReason) =>
    this.remove(connection, reason);

  private remove(connection: StreamConnection, reason: StreamCloseReason): void {
    // A stream that failed to start is removed, then closes.
    if (!this.all.delete(connection)) return;
    this.presence.closed(connection.channels, connection.userId);
    for (const channel of connection.channels) removeFrom(this.byChannel, channel, connection);
    if (connection.userId !== undefined) removeFrom(this.byUser, connection.userId, connection);
    if (reason === 'slow-client' || reason === 'error') {
      this.logger.warn(`Closed a stream of ${connection.channels.join(',')}: ${reason}`);
    }
  }
}

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set?.delete(value) && set.size === 0) index.delete(key);
}
