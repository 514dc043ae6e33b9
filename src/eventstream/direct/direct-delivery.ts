import { Inject, Injectable } from '@nestjs/common';
import type { AppendTicket, CommittedEvent } from '../delivery/committed-event';
import type {
  AcceptedStream,
  DeliveryDependency,
  EventDelivery,
  StreamHolder,
} from '../delivery/event-delivery.interface';
import { EventStreamMetrics } from '../metrics/eventstream-metrics';
import type { ChannelPresence } from '../presence/channel-presence';
import { PresenceTracker } from '../presence/presence-tracker';
import { CHANGE_FEED, type ChangeFeed } from '../storage/change-feed.interface';
import { StreamHub } from './stream-hub';

/**
 * Direct delivery: this instance holds the streams. Each reads the log
 * from its client's position; commits are announced through the change
 * feed, which wakes the streams of every instance.
 */
@Injectable()
export class DirectDelivery implements EventDelivery, StreamHolder {
  readonly escapesPercent = false;
  readonly local = true;

  constructor(
    private readonly hub: StreamHub,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    private readonly metrics: EventStreamMetrics,
    private readonly tracker: PresenceTracker,
  ) {}

  holderFor(): Promise<StreamHolder> {
    return Promise.resolve(this);
  }

  async open(stream: AcceptedStream): Promise<void> {
    const { response } = stream.http;
    const { connection, heads } = await this.hub.open({
      channels: stream.channels,
      user: stream.user,
      request: stream.request,
      response,
    });
    if (stream.gone() || response.destroyed) return connection.close('client');
    this.metrics.recordReplay('direct', backlog(stream.positions, heads));
    connection.open(stream.initial);
    if (stream.expiresAt) connection.expireAt(stream.expiresAt);
    connection.start(stream.positions, heads);
  }

  // One ticket for every send: direct delivery keeps no state per append.
  // The streams here get the committed events from memory; other instances
  // hear the heads and read them.
  private readonly ticket: AppendTicket = {
    committed: (events) => {
      this.hub.committed(events);
      this.feed.announceHeads(headsOf(events));
    },
    failed: () => undefined,
  };

  beginAppend(): AppendTicket {
    return this.ticket;
  }

  /** The append notifies the heads itself, in the app's transaction: nothing to wait for. */
  commitMarker(): undefined {
    return undefined;
  }

  deliverOnCommit(): void {}

  async permissionChanged(userId: string, channel: string): Promise<void> {
    // Other instances hear it through the feed; this one checks its own
    // streams here, so that the call resolves once they are checked.
    await Promise.all([
      this.hub.recheck(userId, channel),
      this.feed.announcePermissionChange(userId, channel),
    ]);
  }

  presence(channel: string): Promise<ChannelPresence> {
    return this.tracker.read(channel);
  }

  checkDependencies(): Promise<readonly DeliveryDependency[]> {
    return Promise.resolve([]);
  }
}

/** The highest seq committed on each channel. */
function headsOf(events: readonly CommittedEvent[]): Map<string, number> {
  const heads = new Map<string, number>();
  for (const { channel, seq } of events) {
    if (seq > (heads.get(channel) ?? 0)) heads.set(channel, seq);
  }
  return heads;
}

/** Events the client is behind on the channels it resumes. */
function backlog(positions: ReadonlyMap<string, number>, heads: ReadonlyMap<string, number>) {
  let behind = 0;
  positions.forEach((seq, channel) => (behind += Math.max(0, (heads.get(channel) ?? 0) - seq)));
  return behind;
}
