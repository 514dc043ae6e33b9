import { Logger } from '@nestjs/common';
import type { Subscriber } from 'zeromq';
import { messageOf } from '../../errors/error-message';
import {
  channelDigest,
  isPushpinStreamChannel,
  libraryChannelOf,
  parsePushpinLinkChannel,
  pushpinChannel,
  pushpinCompositeChannel,
} from '../grip-names';
import { parseSubscriptionPacket, SUBSCRIPTION_TOPIC } from './stats-packet';
import { SubscriptionCounts } from './subscription-counts';
import { zeromqLibrary } from './zeromq-library';

/** How often shares whose TTL lapsed are dropped (reads skip them anyway). */
const SWEEP_INTERVAL_MS = 5_000;
/**
 * Packets the socket queues before it drops: a Pushpin refreshes every
 * channel once per three quarters of its TTL, in a burst, and a dropped
 * refresh leaves a gap until the next one.
 */
const RECEIVE_HIGH_WATER_MARK = 100_000;

/** Who is on a channel, as Pushpin's stats tell it. */
export interface PushpinPresence {
  /** Open streams on the channel, across every Pushpin. */
  readonly streams: number;
  /** The distinct known users among them (streams of anonymous users hold no link channel). */
  readonly users: readonly string[];
}

/**
 * Presence in GRIP mode, read from the stats sockets of every Pushpin
 * (`stats_spec`), summed over them. A library channel is two Pushpin
 * channels (grip-names.ts): its stream count is the sum of both.
 *
 * What Pushpin 1.36 says, and so what this knows: per channel name, how
 * many held streams subscribe to it, refreshed every three quarters of
 * `stats_subscription_ttl`, changes sent within about a second. No packet
 * carries a user; the users come from the names of the streams' link
 * channels, which carry the user and a digest of each of the stream's
 * channels. A Pushpin that stops or dies stops counting as soon as its
 * stats connection closes (ZeroMQ reports the disconnect); one that
 * vanishes without closing it, once its TTL lapses.
 */
export class PushpinStats {
  private readonly counts = new SubscriptionCounts(
    (name) => parsePushpinLinkChannel(name)?.digests ?? [],
  );
  private readonly logger = new Logger('EventStream');
  private readonly sockets: Subscriber[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly complained = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  private longestTtlMs = 0;

  /** @param endpoints each Pushpin's stats socket (`grip.stats`). */
  constructor(private readonly endpoints: readonly string[]) {}

  /**
   * Subscribes to every endpoint. ZeroMQ connects in the background and
   * reconnects by itself: a Pushpin that is not up yet is counted once it
   * is. Throws if `zeromq` is not installed.
   */
  start(): void {
    if (this.sockets.length > 0) return;
    const zmq = zeromqLibrary();
    for (const endpoint of this.endpoints) {
      const socket = new zmq.Subscriber({ receiveHighWaterMark: RECEIVE_HIGH_WATER_MARK });
      socket.connect(endpoint);
      socket.subscribe(SUBSCRIPTION_TOPIC);
      this.sockets.push(socket);
      this.loops.push(this.receive(endpoint, socket), this.watch(endpoint, socket));
    }
    this.sweeper = setInterval(() => this.counts.sweep(Date.now()), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const socket of this.sockets.splice(0)) socket.close();
    await Promise.all(this.loops.splice(0));
  }

  /** Who is on `channel` (a library channel), across every Pushpin. */
  presence(channel: string): PushpinPresence {
    const now = Date.now();
    const streams = this.counts.streams(
      [pushpinChannel(channel), pushpinCompositeChannel(channel)],
      now,
    );
    return { streams, users: [...this.usersOn(channel, now)].sort() };
  }

  /**
   * How long Pushpin's counts are trusted (the longest `ttl` its packets
   * carried; 0 before the first): within it, a reader that has just
   * subscribed has been told every channel held, since each Pushpin
   * refreshes them all every three quarters of it.
   */
  get countsTrustedMs(): number {
    return this.longestTtlMs;
  }

  /**
   * The known users some Pushpin holds a stream of, on each library channel
   * that `wanted` accepts: every such channel with one at least.
   */
  heldUsers(wanted: (channel: string) => boolean): Map<string, Set<string>> {
    const now = Date.now();
    const held = new Map<string, Set<string>>();
    const seen = new Set<string>();
    for (const name of this.counts.held(now)) {
      const channel = libraryChannelOf(name);
      if (channel === undefined || seen.has(channel)) continue;
      seen.add(channel);
      if (!wanted(channel)) continue;
      const users = this.usersOn(channel, now);
      if (users.size > 0) held.set(channel, users);
    }
    return held;
  }

  private usersOn(channel: string, now: number): Set<string> {
    const users = new Set<string>();
    for (const name of this.counts.live(channelDigest(channel), now)) {
      const userId = parsePushpinLinkChannel(name)?.userId;
      if (userId !== undefined) users.add(userId);
    }
    return users;
  }

  private async receive(endpoint: string, socket: Subscriber): Promise<void> {
    try {
      for await (const [message] of socket) this.take(endpoint, message);
    } catch (error) {
      if (!socket.closed) {
        this.logger.error(`Pushpin stats at ${endpoint} stopped: ${messageOf(error)}`);
      }
    }
  }

  private take(endpoint: string, message: Buffer): void {
    let packet;
    try {
      packet = parseSubscriptionPacket(message);
    } catch (error) {
      if (this.complained.has(endpoint)) return;
      this.complained.add(endpoint);
      this.logger.warn(
        `Pushpin stats at ${endpoint}: ignoring a packet that cannot be read (${messageOf(error)}); later ones are ignored without a word`,
      );
      return;
    }
    // Held SSE streams only: this library never holds responses or WebSockets.
    if (packet.mode !== 'stream' || !counted(packet.channel)) return;
    if ('ttlSeconds' in packet) {
      this.longestTtlMs = Math.max(this.longestTtlMs, packet.ttlSeconds * 1000);
    }
    this.counts.apply(endpoint, packet, Date.now());
  }

  /** A closed stats connection means its Pushpin stopped: its streams are gone. */
  private async watch(endpoint: string, socket: Subscriber): Promise<void> {
    try {
      for await (const event of socket.events) {
        if (event.type === 'disconnect') this.counts.forget(endpoint);
      }
    } catch (error) {
      if (!socket.closed) {
        this.logger.error(`Pushpin stats at ${endpoint}: ${messageOf(error)}`);
      }
    }
  }
}

/** The channels presence reads: a library channel's two names, and link channels. */
function counted(name: string): boolean {
  return isPushpinStreamChannel(name) || parsePushpinLinkChannel(name) !== undefined;
}
