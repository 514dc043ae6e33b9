/** The event type every publisher sends. */
export const EVENT_TYPE = 'tick';

/** What a tick carries: its channel, who sent it (publisher and count) and when. */
export interface Tick {
  readonly c: string;
  readonly p: string;
  readonly k: number;
  /** `Date.now()` as the publish request began, in the one process that sends and receives. */
  readonly t: number;
}

export function tickToken(tick: Pick<Tick, 'p' | 'k'>): string {
  return `${tick.p}/${tick.k}`;
}

export function readTick(data: string): Tick & { readonly token: string } {
  const tick = JSON.parse(data) as Tick;
  return { ...tick, token: tickToken(tick) };
}
