import { sleep } from './measure';

export interface LoadSettings {
  /** Concurrent callers, each awaiting its previous send before the next. */
  readonly callers: number;
  readonly channels: number;
  /** The first `hotChannels` channels get `hotShare` of all sends between them. */
  readonly hotChannels: number;
  readonly hotShare: number;
  /** Size of an event's data as JSON, about. */
  readonly payloadBytes: number;
}

/** What the callers did between two samples. */
export interface LoadWindow {
  readonly seconds: number;
  readonly events: number;
  readonly errors: number;
  /** Send latencies of the window's successful sends, in ms, sorted. */
  readonly latencies: Float64Array;
}

export type Send = (channel: string, data: object) => Promise<unknown>;

/**
 * Closed-loop load: a fixed number of callers sending one event a call as
 * fast as each call returns, so the rate is what the library and the
 * database hold, and a slowdown shows as both a lower rate and a higher p99.
 */
export class SoakLoad {
  private latencies: number[] = [];
  private errors = 0;
  private windowStart = performance.now();
  private stopping = false;
  private readonly loops: Promise<void[]>;
  /** The first failure of a send, for the report. */
  firstError?: string;

  constructor(
    private readonly send: Send,
    private readonly settings: LoadSettings,
  ) {
    this.loops = Promise.all(Array.from({ length: settings.callers }, (_, c) => this.caller(c)));
  }

  /** Ends the current window and starts the next. */
  takeWindow(): LoadWindow {
    const now = performance.now();
    const latencies = Float64Array.from(this.latencies).sort();
    const window = {
      seconds: (now - this.windowStart) / 1000,
      events: latencies.length,
      errors: this.errors,
      latencies,
    };
    this.latencies = [];
    this.errors = 0;
    this.windowStart = now;
    return window;
  }

  /** Resolves once every caller's last send has returned. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loops;
  }

  private async caller(caller: number): Promise<void> {
    const { channels, hotChannels, hotShare, payloadBytes } = this.settings;
    const filler = 'x'.repeat(
      Math.max(0, payloadBytes - JSON.stringify({ caller, n: 100_000, text: '' }).length),
    );
    for (let n = 0; !this.stopping; n++) {
      const hot = Math.random() < hotShare;
      const index = hot
        ? Math.floor(Math.random() * hotChannels)
        : hotChannels + Math.floor(Math.random() * (channels - hotChannels));
      const started = performance.now();
      try {
        await this.send(`soak-${index}`, { caller, n, text: filler });
        this.latencies.push(performance.now() - started);
      } catch (error) {
        this.errors++;
        this.firstError ??= error instanceof Error ? error.message : String(error);
        // A database that is gone must not turn the callers into a busy loop.
        await sleep(100);
      }
    }
  }
}
