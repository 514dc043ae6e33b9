import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { assertCanRead, authorize } from '../auth/authorize';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import type { AppendTicket, CommittedEvent } from '../delivery/committed-event';
import type {
  AcceptedStream,
  ContinuationRequest,
  DeliveryDependency,
  EventDelivery,
  StreamHolder,
} from '../delivery/event-delivery.interface';
import { DirectDelivery } from '../direct/direct-delivery';
import { ProxyRequestRefusedError } from '../errors/eventstream.errors';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import type { EventStreamConfig } from '../options/eventstream-config';
import type { ChannelPresence } from '../presence/channel-presence';
import { PresenceTracker } from '../presence/presence-tracker';
import { streamChannels } from '../events/event-rules';
import { parseEventPosition } from '../sse/event-position';
import type { GripSettings } from './grip-config';
import { parseGripLast } from './grip-last';
import { pushpinChannelOf } from './grip-names';
import { GripPublisher } from './grip-publisher';
import { GripResponder } from './grip-responder';
import { isProxied } from './grip-signature';
import { verifyNextLink } from './next-link-token';
import { HeldUsersMirror } from './stats/held-users-mirror';
import { PushpinStats } from './stats/pushpin-stats';

/**
 * GRIP delivery: streams whose request carries a valid `Grip-Sig` are
 * handed to the proxy, which is published to after each commit. Unsigned
 * requests are streamed directly, or refused, as `grip.unsignedRequests`
 * says.
 */
@Injectable()
export class GripDelivery implements EventDelivery, OnModuleInit, OnApplicationShutdown {
  readonly escapesPercent = true;
  /** Who the proxies hold, where `grip.stats` names their stats sockets. */
  private readonly stats: PushpinStats | undefined;
  /** Hands the users the proxies hold to presence, for join and leave events. */
  private readonly mirror: HeldUsersMirror | undefined;
  private readonly proxy: StreamHolder = {
    local: false,
    open: (stream) => this.openAtProxy(stream),
    continue: (request) => this.continueAtProxy(request),
  };

  constructor(
    private readonly direct: DirectDelivery,
    private readonly publisher: GripPublisher,
    private readonly responder: GripResponder,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
    tracker: PresenceTracker,
  ) {
    const endpoints = config.grip?.stats ?? [];
    this.stats = endpoints.length > 0 ? new PushpinStats(endpoints) : undefined;
    this.mirror = this.stats && new HeldUsersMirror(this.stats, tracker);
  }

  /** Starts reading the proxies' stats; fails start-up when `zeromq` is missing. */
  onModuleInit(): void {
    this.stats?.start();
    this.mirror?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.mirror?.stop();
    await this.stats?.stop();
  }

  private get grip(): GripSettings {
    const { grip } = this.config;
    if (!grip) throw new Error('GRIP delivery without grip options');
    return grip;
  }

  async holderFor(request: IncomingMessage): Promise<StreamHolder> {
    if (await isProxied(request, this.grip.verifiers)) return this.proxy;
    if (this.grip.unsignedRequests === 'refuse') {
      throw new ProxyRequestRefusedError('Streams are served through the GRIP proxy only');
    }
    return this.direct;
  }

  beginAppend(channels: readonly string[]): AppendTicket {
    const published = this.publisher.beginAppend(channels);
    // Unsigned requests may be streamed directly, here or on another instance.
    const announced = this.direct.beginAppend();
    return {
      committed: (events) => {
        published.committed(events);
        announced.committed(events);
      },
      failed: () => {
        published.failed();
        announced.failed();
      },
    };
  }

  commitMarker(): string {
    return randomUUID();
  }

  deliverOnCommit(marker: string, events: readonly CommittedEvent[]): void {
    this.publisher.publishWhenCommitted(marker, events);
  }

  async permissionChanged(userId: string, channel: string): Promise<void> {
    await Promise.all([
      this.direct.permissionChanged(userId, channel),
      this.revokeHeldByProxy(userId, channel),
    ]);
  }

  /**
   * The streams this app's instances hold directly (unsigned requests), and
   * those the proxies hold as their stats tell; without `grip.stats`, the
   * former only.
   */
  async presence(channel: string): Promise<ChannelPresence> {
    const direct = await this.direct.presence(channel);
    if (!this.stats) return direct;
    const held = this.stats.presence(channel);
    return {
      channel,
      streams: direct.streams + held.streams,
      users: [...new Set([...direct.users, ...held.users])].sort(),
    };
  }

  async checkDependencies(): Promise<readonly DeliveryDependency[]> {
    return (await this.publisher.checkProxies()).map(({ proxy, error }) => ({
      name: proxy,
      ...(error === undefined ? {} : { error }),
    }));
  }

  /**
   * The proxy holds the streams, so the authorizer is asked here, for the
   * user as `loadUser` gives it and with no request (the one the stream was
   * opened with is gone), and a refusal ends the held streams. One instance
   * revokes for all, since every instance publishes to every proxy.
   */
  private async revokeHeldByProxy(userId: string, channel: string): Promise<void> {
    const user = await this.config.loadUser(userId);
    const decision = await authorize(this.authorizer, user, channel, {});
    if (!decision.allowed) {
      await this.publisher.revoke(userId, channel, `Access to channel ${channel} was revoked`);
    }
  }

  private openAtProxy(stream: AcceptedStream): Promise<void> {
    return this.responder.reply({
      request: stream.http.request,
      response: stream.http.response,
      channels: stream.channels,
      positions: stream.positions,
      userId: this.config.identifyUser(stream.user),
      continuation: false,
      initial: stream.initial,
    });
  }

  /**
   * The proxy calls the next link to page through a long replay, and to
   * recover after a gap. It carries no cookies: who the stream is for comes
   * from the link's signed token, and the authorizer is asked again.
   */
  private async continueAtProxy({
    http,
    request,
    token,
    lastEventId,
  }: ContinuationRequest): Promise<void> {
    const claims = await verifyNextLink(token ?? '', this.grip.linkSecret);
    if (!claims) throw new ProxyRequestRefusedError('This next link is invalid or has expired');
    const { maxChannelsPerStream, limits } = this.config;
    const channels = streamChannels(claims.channels, maxChannelsPerStream, limits);
    const user =
      claims.userId === undefined ? undefined : await this.config.loadUser(claims.userId);
    await assertCanRead(this.authorizer, user, channels, request);
    const gripLast = parseGripLast(http.request.headers['grip-last'] as string | undefined);
    const positions = new Map<string, number>();
    if (gripLast.size > 0) {
      for (const channel of channels) {
        const seq = gripLast.get(pushpinChannelOf(channel, channels));
        if (seq !== undefined) positions.set(channel, seq);
      }
    } else {
      parseEventPosition(lastEventId ?? '', channels).forEach((seq, channel) =>
        positions.set(channel, seq),
      );
    }
    await this.responder.reply({
      request: http.request,
      response: http.response,
      channels,
      positions,
      userId: claims.userId,
      continuation: true,
    });
  }
}
