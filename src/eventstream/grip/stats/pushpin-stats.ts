import { Logger } from '@nestjs/common';
import type { Subscriber } from 'zeromq';
import { messageOf } from '../../errors/error-message';
import { isPushpinStreamChannel, pushpinChannel, pushpinCompositeChannel } from '../grip-names';
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

export interface PushpinStatsOptions {
  /** The clock, in milliseconds; tests move it. */
  readonly now?: () => number;
}

/**
 * Open streams per channel in GRIP mode, read from the stats sockets of
 * every Pushpin (`stats_spec`), summed over them. A library channel is two
 * Pushpin channels (grip-names.ts): its count is the sum of both.
 *
 * What Pushpin 1.36 says, and so what this knows: per channel, how many
 * held streams subscribe to it, refreshed every three quarters of
 * `stats_subscription_ttl`, changes sent within about a second. A Pushpin
 * that stops or dies stops counting as soon as its stats connection closes
 * (ZeroMQ reports the disconnect); one that vanishes without closing it,
 * once its TTL lapses. Not who holds the streams: no packet carries a user.
 */
export class PushpinStats {
  private readonly counts = new SubscriptionCounts();
  private readonly logger = new Logger('EventStream');
  private readonly now: () => number;
  private readonly sockets: Subscriber[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly complained = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly endpoints: readonly string[],
    options: PushpinStatsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

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
    this.sweeper = setInterval(() => this.counts.sweep(this.now()), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const socket of this.sockets.splice(0)) socket.close();
    await Promise.all(this.loops.splice(0));
  }

  /** Open streams on `channel` (a library channel) across every Pushpin. */
  streams(channel: string): number {
    const names = [pushpinChannel(channel), pushpinCompositeChannel(channel)];
    return this.counts.streams(names, this.now());
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
    if (packet.mode !== 'stream' || !isPushpinStreamChannel(packet.channel)) return;
    this.counts.apply(endpoint, packet, this.now());
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
