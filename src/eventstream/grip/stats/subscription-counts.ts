import type { SubscriptionPacket } from './stats-packet';

interface Share {
  readonly endpoint: string;
  readonly streams: number;
  readonly expiresAt: number;
}

/**
 * Streams per Pushpin channel, as the stats sockets of every proxy last
 * told them: one share per (stats endpoint, handler process), each
 * trusted until its packet's TTL lapses. Keyed by the handler too, so a
 * Pushpin that restarts behind the same endpoint never has its old count
 * added to its new one for longer than the old count's TTL.
 */
export class SubscriptionCounts {
  private readonly shares = new Map<string, Map<string, Share>>();
  /** The channels under each tag, while they have a share. */
  private readonly tagged = new Map<string, Set<string>>();

  /** @param tagsOf what to index a channel under, for {@link live}. */
  constructor(private readonly tagsOf: (channel: string) => readonly string[] = () => []) {}

  /** Takes a `stream` packet read from `endpoint` at `now` (ms). */
  apply(endpoint: string, packet: SubscriptionPacket, now: number): void {
    const source = `${endpoint}\n${packet.from}`;
    const channel = this.shares.get(packet.channel);
    if ('unavailable' in packet || packet.subscribers === 0) {
      channel?.delete(source);
      if (channel?.size === 0) this.drop(packet.channel);
      return;
    }
    const share = {
      endpoint,
      streams: packet.subscribers,
      expiresAt: now + packet.ttlSeconds * 1000,
    };
    if (channel) return void channel.set(source, share);
    this.shares.set(packet.channel, new Map([[source, share]]));
    for (const tag of this.tagsOf(packet.channel)) {
      const channels = this.tagged.get(tag);
      if (channels) channels.add(packet.channel);
      else this.tagged.set(tag, new Set([packet.channel]));
    }
  }

  /** Forgets what `endpoint` said: its Pushpin is gone. */
  forget(endpoint: string): void {
    for (const [channel, shares] of this.shares) {
      for (const [source, share] of shares) if (share.endpoint === endpoint) shares.delete(source);
      if (shares.size === 0) this.drop(channel);
    }
  }

  /** The streams on each of `channels` (Pushpin's names), summed, as of `now`. */
  streams(channels: readonly string[], now: number): number {
    let streams = 0;
    for (const channel of channels) {
      for (const share of this.shares.get(channel)?.values() ?? []) {
        if (share.expiresAt > now) streams += share.streams;
      }
    }
    return streams;
  }

  /** Drops the shares whose TTL lapsed by `now`, so memory follows what is live. */
  sweep(now: number): void {
    for (const [channel, shares] of this.shares) {
      for (const [source, share] of shares) if (share.expiresAt <= now) shares.delete(source);
      if (shares.size === 0) this.drop(channel);
    }
  }

  /** The channels some Pushpin holds as of `now`. */
  *held(now: number): IterableIterator<string> {
    for (const channel of this.shares.keys()) if (this.streams([channel], now) > 0) yield channel;
  }

  /** The channels indexed under `tag` that some Pushpin holds as of `now`. */
  live(tag: string, now: number): string[] {
    return [...(this.tagged.get(tag) ?? [])].filter((channel) => this.streams([channel], now) > 0);
  }

  private drop(channel: string): void {
    this.shares.delete(channel);
    for (const tag of this.tagsOf(channel)) {
      const channels = this.tagged.get(tag);
      channels?.delete(channel);
      if (channels?.size === 0) this.tagged.delete(tag);
    }
  }

  /** How many channels have a share, expired or not. */
  get size(): number {
    return this.shares.size;
  }
}
