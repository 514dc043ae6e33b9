/** What the clock asks of each stream it keeps alive. */
export interface KeepAliveTarget {
  /** Called each tick with the clock's tick count. */
  onKeepAliveTick(tick: number): void;
}

/** Ticks per keep-alive interval: a silent stream hears one after 3/4 to 4/4 of it. */
export const TICKS_PER_INTERVAL = 4;

/**
 * One timer for the keep-alives of every stream with the same interval,
 * instead of a timer per stream that every write re-arms: 10,000 idle
 * streams held 10,000 timers, and each event delivered to 1,000 streams
 * re-armed 1,000 of them. A stream notes the tick count when it writes; on
 * each tick, one that has not written for {@link TICKS_PER_INTERVAL} - 1 whole
 * ticks sends a keep-alive, so no stream is silent for longer than the interval.
 */
export class KeepAliveClock {
  /** Ticks so far; streams compare it with the tick of their last write. */
  tick = 0;
  private readonly targets = new Set<KeepAliveTarget>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly intervalMs: number) {}

  add(target: KeepAliveTarget): void {
    this.targets.add(target);
    if (this.timer) return;
    this.timer = setInterval(
      () => {
        this.tick++;
        for (const each of this.targets) each.onKeepAliveTick(this.tick);
      },
      Math.max(1, Math.floor(this.intervalMs / TICKS_PER_INTERVAL)),
    );
    this.timer.unref();
  }

  remove(target: KeepAliveTarget): void {
    this.targets.delete(target);
    if (this.targets.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

const clocks = new Map<number, KeepAliveClock>();

/** The clock shared by every stream of this process with this interval. */
export function keepAliveClock(intervalMs: number): KeepAliveClock {
  let clock = clocks.get(intervalMs);
  if (!clock) clocks.set(intervalMs, (clock = new KeepAliveClock(intervalMs)));
  return clock;
}
