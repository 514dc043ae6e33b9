/** How long to wait before reconnecting. */
export interface BackoffOptions {
  /** The first delay, in ms. Default 1000. */
  readonly initialMs?: number;
  /** The longest delay, in ms. Default 30000. */
  readonly maxMs?: number;
  /** Each failed attempt in a row multiplies the delay by this. Default 2. */
  readonly factor?: number;
  /**
   * Up to this fraction of each delay is taken off at random (0 to 1).
   * Default 0.5: after a server restart, clients spread their reconnects over
   * half the delay instead of arriving all at once.
   */
  readonly jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
};

/** The delay before attempt `attempt` (0 for the first retry after a loss). */
export function backoffDelay(
  attempt: number,
  options: Required<BackoffOptions>,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter * random()));
}

export function resolveBackoff(options: BackoffOptions | undefined): Required<BackoffOptions> {
  const resolved = { ...DEFAULT_BACKOFF, ...stripUndefined(options ?? {}) };
  const { initialMs, maxMs, factor, jitter } = resolved;
  if (
    !(initialMs >= 0) ||
    !(maxMs >= initialMs) ||
    !(factor >= 1) ||
    !(jitter >= 0 && jitter <= 1)
  ) {
    throw new RangeError('backoff: need 0 <= initialMs <= maxMs, factor >= 1 and 0 <= jitter <= 1');
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
