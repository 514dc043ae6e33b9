import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { messageOf } from '../errors/error-message';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import type { EventStreamConfig } from '../options/eventstream-config';
import {
  PRESENCE_STORE,
  type PresenceKey,
  type PresenceShare,
  type PresenceStore,
} from '../storage/presence-store.interface';
import {
  type AnnouncingChannels,
  NO_ANNOUNCING_CHANNELS,
  announcingChannels,
} from './announcing-channels';
import type { ChannelPresence } from './channel-presence';
import {
  PRESENCE_HEARTBEAT_MS,
  PRESENCE_LEAVE_DELAY_MS,
  PRESENCE_TTL_MS,
  PRESENCE_WRITE_DELAY_MS,
} from './presence-timing';

/** Streams whose user is unknown are kept under this id. */
const UNKNOWN_USER = '';

/** Channel names hold no line feed, so this key is unique. */
const keyOf = (channel: string, userId: string) => `${channel}\n${userId}`;

/**
 * This instance's open streams per channel and user (direct mode), with
 * the users GRIP proxies hold (mirrored from their stats), and its
 * share of them in the {@link PresenceStore}. Opens and closes change the
 * counts in memory at once; a write carries every key changed since the
 * last one, one write at a time and at most one per
 * PRESENCE_WRITE_DELAY_MS, so a burst of opens is a few round trips rather
 * than one per stream. A heartbeat renews the lease that keeps the
 * shares counted, and reaps instances that stopped renewing theirs.
 */
@Injectable()
export class PresenceTracker {
  private readonly logger = new Logger('EventStream');
  readonly instanceId = randomUUID();
  /** Streams per user per channel; 0 while a departure waits out the leave delay. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** Known users a GRIP proxy holds on announcing channels, as last mirrored. */
  private held = new Map<string, ReadonlySet<string>>();
  /** How long a share with users held outlives this instance once it stops. */
  private heldOutlivesMs = 0;
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  /** Keys whose share changed since the last write. */
  private readonly dirty = new Map<string, PresenceKey>();
  /** Keys of announcing channels whose user arrived or left here since the last write. */
  private readonly changed = new Map<string, PresenceKey>();
  private readonly listeners = new Set<(keys: readonly PresenceKey[]) => void>();
  readonly announces: AnnouncingChannels;
  /** Writes run one after another on this chain. */
  private chain: Promise<unknown> = Promise.resolve();
  private draining = false;
  private renewing = false;
  private heartbeat?: NodeJS.Timeout;
  private leased = false;
  private failing = false;
  private stopped = false;

  constructor(
    @Inject(PRESENCE_STORE) private readonly store: PresenceStore,
    @Inject(EVENTSTREAM_CONFIG) config: EventStreamConfig,
  ) {
    this.announces = announcingChannels(config.presence.announce);
  }

  /** Whether some channel announces joins and leaves. */
  get announcing(): boolean {
    return this.announces !== NO_ANNOUNCING_CHANNELS;
  }

  /** Tells `listener` which users of announcing channels arrived or left, once written. */
  onChange(listener: (keys: readonly PresenceKey[]) => void): void {
    this.listeners.add(listener);
  }

  /** Starts the heartbeat; the first stream starts it too. */
  start(): void {
    if (this.heartbeat || this.stopped) return;
    this.heartbeat = setInterval(() => this.renew(), PRESENCE_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  opened(channels: readonly string[], userId: string | undefined): void {
    const user = userId ?? UNKNOWN_USER;
    for (const channel of channels) {
      let users = this.counts.get(channel);
      if (!users) this.counts.set(channel, (users = new Map<string, number>()));
      const before = users.get(user);
      users.set(user, (before ?? 0) + 1);
      const key = keyOf(channel, user);
      clearTimeout(this.lingering.get(key));
      this.lingering.delete(key);
      this.dirty.set(key, { channel, userId: user });
      if (before === undefined && !this.isHeld(channel, user) && this.settles(channel, user)) {
        this.changed.set(key, { channel, userId: user });
      }
    }
    this.start();
    this.kick();
  }

  closed(channels: readonly string[], userId: string | undefined): void {
    const user = userId ?? UNKNOWN_USER;
    for (const channel of channels) {
      const users = this.counts.get(channel);
      const streams = (users?.get(user) ?? 0) - 1;
      if (!users || streams < 0) continue;
      const key = keyOf(channel, user);
      this.dirty.set(key, { channel, userId: user });
      if (streams > 0 || this.settles(channel, user)) users.set(user, streams);
      else this.forget(channel, user);
      if (streams === 0 && this.settles(channel, user)) this.linger(channel, user);
    }
    this.kick();
  }

  /**
   * Who the GRIP proxies hold on announcing channels, as this instance reads
   * their stats: the whole picture (a channel or user missing is gone),
   * replacing the last one. Each user held is present in this instance's
   * share with no stream (the proxies' streams are counted from the stats
   * when presence is read), so joins and leaves are settled as for direct
   * streams: a user no longer held lingers for the leave delay, and stays
   * present while any live instance still sees them held.
   *
   * `keepMs`: how long this instance's share outlives it once it stops,
   * while it has users held, so that an instance replacing it has seen
   * them held before it lapses (a fresh reader of Pushpin's stats needs up
   * to three quarters of their TTL).
   */
  mirrorHeld(snapshot: ReadonlyMap<string, ReadonlySet<string>>, keepMs: number): void {
    if (this.stopped) return;
    this.heldOutlivesMs = keepMs;
    const before = this.held;
    this.held = new Map();
    snapshot.forEach((users, channel) => {
      const settled = [...users].filter((user) => this.settles(channel, user));
      if (settled.length > 0) this.held.set(channel, new Set(settled));
    });
    let changes = false;
    this.held.forEach((users, channel) =>
      users.forEach((user) => {
        if (before.get(channel)?.has(user) || this.counts.get(channel)?.has(user)) return;
        const key = keyOf(channel, user);
        this.dirty.set(key, { channel, userId: user });
        this.changed.set(key, { channel, userId: user });
        changes = true;
      }),
    );
    before.forEach((users, channel) =>
      users.forEach((user) => {
        if (this.isHeld(channel, user)) return;
        let streams = this.counts.get(channel);
        // Direct streams of theirs here, or already lingering: nothing changes.
        if (streams?.has(user)) return;
        if (!streams) this.counts.set(channel, (streams = new Map<string, number>()));
        streams.set(user, 0);
        this.linger(channel, user);
      }),
    );
    if (this.held.size > 0) this.start();
    if (changes) this.kick();
  }

  /** Streams and users on `channel`: this instance's from memory, the others' from the store. */
  async read(channel: string): Promise<ChannelPresence> {
    const others = await this.store.read(channel, this.instanceId);
    const totals = new Map<string, number>(others);
    this.counts
      .get(channel)
      ?.forEach((streams, user) => totals.set(user, (totals.get(user) ?? 0) + streams));
    let streams = 0;
    const users: string[] = [];
    totals.forEach((count, user) => {
      streams += count;
      if (count > 0 && user !== UNKNOWN_USER) users.push(user);
    });
    return { channel, streams, users: users.sort() };
  }

  /**
   * After every stream has closed, at shutdown: the last write keeps this
   * instance's lingering users present for the leave delay only, after
   * which another instance announces those who did not come back (longer
   * while a GRIP proxy holds users, see {@link mirrorHeld}).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.lingering.forEach((timer) => clearTimeout(timer));
    this.lingering.clear();
    if (!this.heartbeat) return;
    const ttlMs = Math.max(PRESENCE_LEAVE_DELAY_MS, this.held.size > 0 ? this.heldOutlivesMs : 0);
    await (this.chain = this.chain.then(() => this.write(ttlMs)));
  }

  private linger(channel: string, user: string): void {
    const timer = setTimeout(() => this.depart(channel, user), PRESENCE_LEAVE_DELAY_MS);
    timer.unref();
    this.lingering.set(keyOf(channel, user), timer);
  }

  private isHeld(channel: string, user: string): boolean {
    return this.held.get(channel)?.has(user) ?? false;
  }

  /** This instance's share of a key: undefined when it has none. */
  private share(channel: string, user: string): number | undefined {
    return this.counts.get(channel)?.get(user) ?? (this.isHeld(channel, user) ? 0 : undefined);
  }

  private settles(channel: string, user: string): boolean {
    return user !== UNKNOWN_USER && this.announces(channel);
  }

  private forget(channel: string, user: string): void {
    const users = this.counts.get(channel);
    users?.delete(user);
    if (users?.size === 0) this.counts.delete(channel);
  }

  /** The leave delay passed with no stream of the user back on this instance. */
  private depart(channel: string, user: string): void {
    const key = keyOf(channel, user);
    this.lingering.delete(key);
    if (this.counts.get(channel)?.get(user) !== 0) return;
    this.forget(channel, user);
    // Back in a proxy's hands meanwhile: still present, its share unchanged.
    if (this.isHeld(channel, user)) return;
    this.dirty.set(key, { channel, userId: user });
    this.changed.set(key, { channel, userId: user });
    this.kick();
  }

  /** Queues writes of what changes, unless they are queued already. */
  private kick(): void {
    if (this.draining || this.stopped) return;
    this.draining = true;
    this.chain = this.chain.then(() => this.drain());
  }

  /** Writes what changed, a delay after the first change, until nothing has. */
  private async drain(): Promise<void> {
    try {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, PRESENCE_WRITE_DELAY_MS));
        if (this.stopped || this.dirty.size === 0) return;
        if (!(await this.write(PRESENCE_TTL_MS))) return;
      }
    } finally {
      this.draining = false;
    }
  }

  private renew(): void {
    if (this.renewing) return;
    this.renewing = true;
    this.chain = this.chain
      .then(async () => {
        if (await this.write(PRESENCE_TTL_MS)) await this.store.reap();
      })
      .catch((error: unknown) => this.logger.warn(`Presence reaping failed: ${messageOf(error)}`))
      .finally(() => (this.renewing = false));
  }

  /** Writes the keys changed; resolves with whether it could. A failed write is retried on the next heartbeat. */
  private async write(ttlMs: number): Promise<boolean> {
    const batch = [...this.dirty.entries()];
    const changed = [...this.changed.entries()];
    this.dirty.clear();
    this.changed.clear();
    const shares: PresenceShare[] = [];
    const removed: PresenceKey[] = [];
    for (const [, key] of batch) {
      const streams = this.share(key.channel, key.userId);
      if (streams === undefined) removed.push(key);
      else shares.push({ ...key, streams });
    }
    try {
      const { known } = await this.store.write(this.instanceId, shares, removed, ttlMs);
      if (this.failing) this.logger.log('Presence is written again');
      this.failing = false;
      // Expired while it could not write (or the table was emptied): its
      // shares were deleted, and departures may have been announced.
      if (!known && this.leased) this.rewriteAll();
      this.leased = true;
    } catch (error) {
      for (const [id, key] of batch) if (!this.dirty.has(id)) this.dirty.set(id, key);
      for (const [id, key] of changed) this.changed.set(id, key);
      if (!this.failing) this.logger.warn(`Presence could not be written: ${messageOf(error)}`);
      this.failing = true;
      return false;
    }
    const keys = changed.map(([, key]) => key);
    if (keys.length > 0) this.listeners.forEach((listener) => listener(keys));
    return true;
  }

  private rewriteAll(): void {
    this.counts.forEach((users, channel) =>
      users.forEach((_, user) => {
        const key = keyOf(channel, user);
        this.dirty.set(key, { channel, userId: user });
        if (this.settles(channel, user)) this.changed.set(key, { channel, userId: user });
      }),
    );
    this.held.forEach((users, channel) =>
      users.forEach((user) => {
        const key = keyOf(channel, user);
        this.dirty.set(key, { channel, userId: user });
        this.changed.set(key, { channel, userId: user });
      }),
    );
    this.kick();
  }
}
