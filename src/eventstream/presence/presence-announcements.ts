import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { messageOf } from '../errors/error-message';
import { EventStreamService } from '../eventstream.service';
import {
  PRESENCE_STORE,
  type PresenceAnnouncer,
  type PresenceKey,
  type PresenceStore,
} from '../storage/presence-store.interface';
import { PRESENCE_EVENT_TYPE, PRESENCE_HEARTBEAT_MS } from './presence-timing';
import { PresenceTracker } from './presence-tracker';

/** The data of a `presence` event. */
export interface PresenceEventData {
  readonly user: string;
  readonly action: 'join' | 'leave';
}

/**
 * Announces joins and leaves on the channels `presence.announce` names, as
 * stored `presence` events. This instance settles the users it saw arrive
 * or leave, right after writing them; every instance also sweeps, now and
 * then, for users whose presence and announcements disagree: those of an
 * instance that died, or of a settle that failed. The store settles each
 * user under a lock, so whoever settles first announces, once.
 */
@Injectable()
export class PresenceAnnouncements implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private readonly pending = new Map<string, PresenceKey>();
  private settling = false;
  private settled: Promise<void> = Promise.resolve();
  private sweepTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly tracker: PresenceTracker,
    @Inject(PRESENCE_STORE) private readonly store: PresenceStore,
    private readonly events: EventStreamService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.tracker.announcing) return;
    this.tracker.onChange((keys) => this.request(keys));
    this.tracker.start();
    this.sweepTimer = setInterval(() => void this.sweep(), PRESENCE_HEARTBEAT_MS);
    this.sweepTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    await this.settled;
  }

  private async sweep(): Promise<void> {
    try {
      const keys = await this.store.unsettled();
      this.request(keys.filter((key) => this.tracker.announces(key.channel)));
    } catch (error) {
      this.logger.warn(`Presence sweep failed: ${messageOf(error)}`);
    }
  }

  private request(keys: readonly PresenceKey[]): void {
    if (this.stopped) return;
    for (const key of keys) this.pending.set(`${key.channel}\n${key.userId}`, key);
    if (this.settling) return;
    this.settling = true;
    this.settled = this.settle();
  }

  /** One settle at a time; what arrives meanwhile goes in the next. */
  private async settle(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const keys = [...this.pending.values()];
        this.pending.clear();
        try {
          await this.store.settle(keys, this.append);
        } catch (error) {
          // The next sweep finds them again.
          this.logger.warn(`Presence could not be announced: ${messageOf(error)}`);
        }
      }
    } finally {
      this.settling = false;
    }
  }

  private readonly append: PresenceAnnouncer = async (changes, transaction) => {
    await this.events.sendEvents(
      changes.map(({ channel, userId, action }) => ({
        channel,
        type: PRESENCE_EVENT_TYPE,
        data: { user: userId, action } satisfies PresenceEventData,
      })),
      { transaction },
    );
  };
}
