import type { Ack } from './checker';
import { seqOf } from './cluster-client';
import { EVENT_TYPE, tickToken, type Tick } from './tick';
import { PUBLISH_KEY } from './topology';

export interface PublisherOptions {
  readonly name: string;
  /** The instance it posts to (`POST /publish`). */
  readonly url: string;
  readonly channels: readonly string[];
  /** Events per second it aims at, over all its requests in flight. */
  readonly rate: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
}

/** A publish that got no 2xx: refused, cut, or its instance down. */
export interface FailedPublish {
  /** When it failed. */
  readonly at: number;
  readonly publisher: string;
  readonly reason: string;
}

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Posts ticks to one instance's `POST /publish` at a steady rate, one event
 * or a small batch per request, on random channels, and keeps each 2xx's ids.
 * A failed publish is not retried (a retry without an idempotency key could
 * store twice): its events may or may not be stored, and the checker holds
 * the clients to whatever was.
 */
export class Publisher {
  readonly acks: Ack[] = [];
  readonly failures: FailedPublish[] = [];
  /** Milliseconds from each request to its 2xx. */
  readonly latencies: number[] = [];
  private count = 0;
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly options: PublisherOptions) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    const perWorker = this.options.rate / this.options.concurrency;
    while (this.running) {
      const began = Date.now();
      const size = Math.random() < 0.2 ? 3 : 1;
      await this.publish(size);
      const pause = (size / perWorker) * 1000 - (Date.now() - began);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async publish(size: number): Promise<void> {
    const { channels, name, url } = this.options;
    const t = Date.now();
    const ticks: Tick[] = Array.from({ length: size }, () => ({
      c: channels[Math.floor(Math.random() * channels.length)],
      p: name,
      k: ++this.count,
      t,
    }));
    const events = ticks.map((tick) => ({ channel: tick.c, type: EVENT_TYPE, data: tick }));
    try {
      const response = await fetch(`${url}/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${PUBLISH_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(size === 1 ? events[0] : { events }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await response.text();
      if (!response.ok) {
        this.failures.push({
          at: Date.now(),
          publisher: name,
          reason: `${response.status} ${body}`,
        });
        return;
      }
      this.latencies.push(Date.now() - t);
      const { ids } = JSON.parse(body) as { ids: string[] };
      ids.forEach((id, i) => {
        const tick = ticks[i];
        this.acks.push({ channel: tick.c, seq: seqOf(id, tick.c), token: tickToken(tick) });
      });
    } catch (error) {
      // fetch's own error says only "fetch failed"; its cause says why. (Not
      // `instanceof Error`: under Jest the errors come from another realm.)
      const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
      const message = (cause as { message?: unknown } | undefined)?.message;
      const reason = typeof message === 'string' ? message : String(cause);
      this.failures.push({ at: Date.now(), publisher: name, reason });
    }
  }
}
