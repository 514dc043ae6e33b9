import { Logger } from '@nestjs/common';
import { messageOf } from '../../errors/error-message';
import type { Queryable } from './append-statement';
import { preparedName } from './append-statement';
import { HEAD_PREFIX } from './notify-channel';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/**
 * Least time between two statements: a first announcement goes at once,
 * later ones wait at most this long.
 */
const SPACING_MS = 5;
/** Notifications in one statement; each is at most about 150 bytes. */
const MAX_BATCH = 1_000;

/**
 * NOTIFYs other instances of heads this instance committed, after the
 * commit and apart from it. A transaction that NOTIFYs holds a
 * database-wide lock from its commit until its WAL is flushed, so appends
 * that NOTIFY commit one at a time; these transactions write nothing else
 * and commit without waiting for the flush (`synchronous_commit = off`: a
 * notification needs no durability), so they hold it for a moment only.
 *
 * One statement is in flight at a time, and the next one goes at least
 * {@link SPACING_MS} later; heads that come meanwhile are merged, per
 * channel, into it. A failed statement is retried with the heads still to
 * say, so a notification is late at worst.
 */
export class HeadAnnouncer {
  private readonly logger = new Logger('EventStream');
  private pending = new Map<string, number>();
  private flushing?: Promise<void>;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly sql = `SELECT pg_notify($1, p), set_config('synchronous_commit', 'off', true)
    FROM unnest($2::text[]) AS p`;
  private readonly name = preparedName('eventstream_announce', this.sql);

  constructor(
    private readonly database: Queryable,
    private readonly notifyChannel: string,
  ) {}

  announce(heads: ReadonlyMap<string, number>): void {
    this.merge(heads);
    // Sends still finish while the app shuts down: those go at once.
    if (this.closed) void this.sendPending();
    else this.kick();
  }

  /**
   * Stops batching and retrying, and says what is pending. Sends that
   * commit while the app keeps shutting down are still announced, once each.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flushing;
    await this.sendPending();
  }

  /** Everything pending, at once and without retries: the instance is going away. */
  private async sendPending(): Promise<void> {
    while (this.pending.size > 0) await this.send(this.take()).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.closed) {
        const batch = this.take();
        try {
          await this.send(batch);
          this.retryMs = RETRY_MIN_MS;
        } catch (error) {
          this.merge(batch);
          this.scheduleRetry(error);
          return;
        }
        // What comes in the next moment goes together: a lone caller sending
        // one event after another would otherwise double the transactions.
        if (!this.closed) await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private kick(): void {
    if (this.flushing || this.retryTimer || this.closed || this.pending.size === 0) return;
    this.flushing = this.flush();
  }

  /** Keeps the highest head of each channel. */
  private merge(heads: ReadonlyMap<string, number>): void {
    heads.forEach((seq, channel) => {
      if (seq > (this.pending.get(channel) ?? 0)) this.pending.set(channel, seq);
    });
  }

  private take(): Map<string, number> {
    if (this.pending.size <= MAX_BATCH) {
      const all = this.pending;
      this.pending = new Map();
      return all;
    }
    const batch = new Map<string, number>();
    for (const [channel, seq] of this.pending) {
      if (batch.size === MAX_BATCH) break;
      batch.set(channel, seq);
      this.pending.delete(channel);
    }
    return batch;
  }

  private async send(batch: ReadonlyMap<string, number>): Promise<void> {
    const payloads = [...batch].map(([channel, seq]) => `${HEAD_PREFIX}${seq} ${channel}`);
    await this.database.query({
      name: this.name,
      text: this.sql,
      values: [this.notifyChannel, payloads],
    });
  }

  private scheduleRetry(error: unknown): void {
    if (this.closed) return;
    this.logger.warn(
      `Could not announce new events to other instances (${messageOf(error)}); retrying`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}
