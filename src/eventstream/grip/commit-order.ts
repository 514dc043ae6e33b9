import type { AppendTicket, CommittedEvent } from '../delivery/committed-event';

interface Waiting {
  readonly event: CommittedEvent;
  /** Appends in flight that may still turn out to have committed before this event. */
  readonly blockers: Set<number>;
}

interface ChannelState {
  /** Each append in flight on the channel, with the highest seq known when it began. */
  readonly inFlight: Map<number, number>;
  /** The highest seq any append on the channel has returned. */
  known: number;
  readonly waiting: Waiting[];
}

/**
 * Puts this instance's committed events back into commit order per channel
 * before they are published. Concurrent appends on one channel may return in
 * another order than they committed; Pushpin drops an item whose prev-id it
 * has not seen and waits for a next-link fetch to recover it. So an event
 * waits for the appends still in flight on its channel that may have
 * committed before it: those that began while the highest seq this instance
 * knew on the channel was below `seq - 1` (an append that begins once seq n
 * is known commits above n).
 */
export class CommitOrder {
  private nextTicket = 0;
  private readonly channels = new Map<string, ChannelState>();

  constructor(private readonly release: (events: CommittedEvent[]) => void) {}

  begin(channels: Iterable<string>): AppendTicket {
    const ticket = this.nextTicket++;
    const touched = [...new Set(channels)];
    for (const channel of touched) {
      const state = this.state(channel);
      state.inFlight.set(ticket, state.known);
    }
    let settled = false;
    const settle = (events: readonly CommittedEvent[]) => {
      if (settled) return;
      settled = true;
      for (const channel of touched) this.state(channel).inFlight.delete(ticket);
      for (const event of events) {
        const state = this.state(event.channel);
        const blockers = [...state.inFlight].filter(([, floor]) => floor < event.seq - 1);
        state.waiting.push({ event, blockers: new Set(blockers.map(([other]) => other)) });
        state.known = Math.max(state.known, event.seq);
      }
      const ready = touched.flatMap((channel) => this.unblock(channel, ticket));
      if (ready.length > 0) this.release(ready);
    };
    return { committed: settle, failed: () => settle([]) };
  }

  /** Events of `channel` that no longer wait for anything, in seq order. */
  private unblock(channel: string, ticket: number): CommittedEvent[] {
    const state = this.state(channel);
    state.waiting.forEach(({ blockers }) => blockers.delete(ticket));
    state.waiting.sort((a, b) => a.event.seq - b.event.seq);
    const blocked = state.waiting.findIndex(({ blockers }) => blockers.size > 0);
    const ready = state.waiting.splice(0, blocked === -1 ? state.waiting.length : blocked);
    if (state.inFlight.size === 0 && state.waiting.length === 0) this.channels.delete(channel);
    return ready.map(({ event }) => event);
  }

  private state(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (state === undefined) {
      state = { inFlight: new Map(), known: 0, waiting: [] };
      this.channels.set(channel, state);
    }
    return state;
  }
}
