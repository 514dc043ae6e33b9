import type { PresenceTracker } from '../../presence/presence-tracker';
import type { PushpinStats } from './pushpin-stats';

/**
 * How often the users Pushpin holds are handed to the tracker: Pushpin
 * sends changes about a second after they happen, so a join or leave is
 * seen within about two seconds, then settled as in direct mode.
 */
export const HELD_USERS_MIRROR_MS = 1_000;

/**
 * How long, beyond the TTL of Pushpin's counts, a stopped instance keeps
 * the users it saw held present: time for the instance that replaces it to
 * start, and for the stats' and the mirror's second each.
 */
export const HELD_USERS_RESTART_MS = 5_000;

/**
 * Join and leave events for the streams Pushpin holds: every instance
 * reads every Pushpin's stats and hands the tracker, each second, the
 * known users they hold on the announcing channels. The tracker keeps
 * them present in this instance's share (with no stream counted), and the
 * store settles each arrival and departure once across instances, as for
 * direct streams. Since every instance sees the same stats, a user stays
 * present while any live instance still sees them held. An instance that
 * stops keeps them present for as long as Pushpin's counts are trusted and
 * a little more, long enough for the instance that replaces it to have
 * read the stats again: an app restarted alone announces no leave and join
 * for them.
 */
export class HeldUsersMirror {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stats: PushpinStats,
    private readonly tracker: PresenceTracker,
  ) {}

  /** Starts mirroring, when some channel announces joins and leaves. */
  start(): void {
    if (this.timer || !this.tracker.announcing) return;
    this.timer = setInterval(() => this.mirror(), HELD_USERS_MIRROR_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private mirror(): void {
    this.tracker.mirrorHeld(
      this.stats.heldUsers(this.tracker.announces),
      this.stats.countsTrustedMs + HELD_USERS_RESTART_MS,
    );
  }
}
