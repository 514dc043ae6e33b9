import { Inject, Injectable } from '@nestjs/common';
import { EVENTSTREAM_CONFIG } from './eventstream.constants';
import {
  EventPositionAheadError,
  EventPositionTooOldError,
  InvalidChannelError,
  InvalidPositionError,
} from './errors/eventstream.errors';
import { formatCompositeEventId, formatEventId } from './events/event-id';
import { assertValidChannel, assertValidEventType, encodeEventData } from './events/event-rules';
import type { EventStreamConfig } from './options/eventstream-config';
import type { CommittedEvent } from './delivery/committed-event';
import { EVENT_DELIVERY, type EventDelivery } from './delivery/event-delivery.interface';
import {
  type AppendOnceResult,
  type AppendedEvent,
  EVENT_STORE,
  type IdempotencyKey,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from './storage/event-store.interface';
import type { EventStreamTransaction } from './storage/transaction';
import type {
  ChannelEvents,
  EventDeclaration,
  EventInput,
  EventMap,
  EventTypeOf,
} from './events/event-map';
import { assertValidPayload } from './events/payload-validation';
import { assertValidIdempotencyKey } from './events/idempotency-key';
import type { ChannelPresence } from './presence/channel-presence';

type AnyEventInput = EventInput<EventMap>;

/** A stored event. */
export interface EventRecord<Data = unknown> {
  /** The SSE id of the event: `channel:seq`, the channel percent-encoded. */
  readonly id: string;
  readonly channel: string;
  /** Position in the channel: 1, 2, 3, … without gaps, in commit order. */
  readonly seq: number;
  readonly type: string;
  /** The data as every reader receives it (decoded from its stored JSON). */
  readonly data: Data;
  readonly createdAt: Date;
}

export interface GetEventsOptions {
  /** Return events after this seq. Omitted: from the oldest event kept. */
  readonly after?: number;
  /** At most this many events (1 to 1000). Default 100. */
  readonly limit?: number;
}

export interface EventPage {
  readonly events: EventRecord[];
  /** Pass as `after` to read on: the seq of the last event returned (or the `after` given). */
  readonly cursor: number;
  /** The channel's current seq when the page was read. */
  readonly headSeq: number;
  /** Whether events after this page existed when it was read. */
  readonly hasMore: boolean;
}

export interface GetLatestEventsOptions {
  /** Only events with a seq below this one: to page back through older events. */
  readonly before?: number;
  /** At most this many events (1 to 1000). Default 100. */
  readonly limit?: number;
}

export interface LatestEventsPage extends EventPage {
  /** Whether older events than this page's first are kept: page back with `before`. */
  readonly hasOlder: boolean;
}

export interface SendOptions {
  /**
   * Write the events in this transaction of the app's (a Prisma
   * interactive-transaction client, or a `pg` client after `BEGIN`), on the
   * database the module uses: they exist if and only if it commits, and
   * reach clients and proxies only after it commits. The ids returned hold
   * once it commits; if it rolls back, they are given to later events.
   */
  readonly transaction?: EventStreamTransaction;
  /**
   * Makes the send safe to retry: a second send with this key, within
   * `idempotencyWindowMs` (default 24 h) and from any instance, stores
   * nothing and resolves with the records of the first (ids, seqs,
   * `createdAt`, data); a retry while the first is still in flight waits for
   * its outcome. The key is stored in the same transaction as the events, so
   * after an ambiguous failure (`EventStoreUnavailableError` as the commit
   * was under way) a retry stores the events exactly once. The same key with
   * other events (channels, types or data) rejects with
   * `IdempotencyKeyReusedError`. Printable text, 1 to 255 characters, e.g. a UUID.
   */
  readonly idempotencyKey?: string;
}

const MAX_PAGE = 1000;

function toRecord({ channel, seq, type, json, createdAt }: StoredEvent): EventRecord {
  const data = JSON.parse(json) as unknown;
  return { id: formatEventId(channel, seq), channel, seq, type, data, createdAt };
}

function assertPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_PAGE}, got ${limit}`);
  }
}

function committedEvents(
  prepared: readonly NewEvent[],
  appended: readonly AppendedEvent[],
): CommittedEvent[] {
  return appended.map(({ channel, seq }, index) => ({
    channel,
    seq,
    type: prepared[index].type,
    json: prepared[index].json,
  }));
}

/**
 * Sends events to channels and reads them back.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class ChatService {
 *   constructor(private readonly events: EventStreamService) {}
 *
 *   async post(room: string, text: string) {
 *     const event = await this.events.sendEvent(`room-${room}`, 'message', { text });
 *     return event.id; // "room-lobby:42", committed
 *   }
 * }
 * ```
 */
@Injectable()
export class EventStreamService<Events extends EventDeclaration = EventMap> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENT_DELIVERY) private readonly delivery: EventDelivery,
  ) {}

  /**
   * Asks the authorizer again whether `user` may read `channel`, for each of
   * their open streams on it, and closes those it now refuses with a
   * `stream-error`, on every instance. Resolves once this instance's streams
   * are checked; other instances check theirs when the notice reaches them.
   *
   * @param user the user object (identified as the module's `identifyUser`
   * does) or the user's id.
   */
  async channelPermissionChanged(user: unknown, channel: string): Promise<void> {
    assertValidChannel(channel, this.config.limits);
    const userId =
      typeof user === 'string' || typeof user === 'number'
        ? String(user)
        : this.config.identifyUser(user);
    if (userId === undefined) {
      throw new TypeError('channelPermissionChanged needs a user with an id, or the id itself');
    }
    await this.delivery.permissionChanged(userId, channel);
  }

  /**
   * Stores an event and resolves once it is committed, with its id.
   * Rejects with a typed error (`InvalidChannelError`, `InvalidEventTypeError`,
   * `InvalidEventDataError`) before anything is stored, with
   * `EventStoreUnavailableError` when the database cannot be reached, or with
   * `EventStoreError` for any other database failure. With
   * `options.idempotencyKey`, a retry stores it at most once (see {@link SendOptions}).
   */
  async sendEvent<Channel extends string, Type extends EventTypeOf<Events, Channel>>(
    channel: Channel,
    type: Type,
    data: ChannelEvents<Events, Channel>[Type],
    options?: SendOptions,
  ): Promise<EventRecord<ChannelEvents<Events, Channel>[Type]>> {
    const [record] = await this.sendUnchecked([{ channel, type, data }], options);
    return record as EventRecord<ChannelEvents<Events, Channel>[Type]>;
  }

  /**
   * Stores several events, on any channels, in one transaction: all or none.
   * With `options.transaction`, in the app's transaction (see {@link SendOptions}).
   */
  sendEvents(events: readonly EventInput<Events>[], options?: SendOptions): Promise<EventRecord[]> {
    return this.sendUnchecked(events, options);
  }

  private async sendUnchecked(
    events: readonly AnyEventInput[],
    options: SendOptions | undefined,
  ): Promise<EventRecord[]> {
    const given: unknown = events;
    if (!Array.isArray(given)) throw new TypeError('sendEvents takes an array of events');
    const key = options?.idempotencyKey;
    if (key !== undefined) assertValidIdempotencyKey(key);
    const prepared = events.map((event) => this.prepare(event));
    const idempotency =
      key === undefined ? undefined : { key, windowMs: this.config.idempotencyWindowMs };
    const appended = options?.transaction
      ? await this.appendInTransaction(prepared, options.transaction, idempotency)
      : await this.append(prepared, idempotency);
    return appended.map(({ channel, seq, createdAt }, index) => ({
      id: formatEventId(channel, seq),
      channel,
      seq,
      type: prepared[index].type,
      data: JSON.parse(prepared[index].json) as unknown,
      createdAt,
    }));
  }

  /**
   * The id of the newest event of a channel (`channel:0` before its first
   * event), or for several channels the composite id a stream of all of them
   * would resume from, e.g. `a:3,b:7`.
   */
  async getCurrentEventId(channels: string | readonly string[]): Promise<string> {
    const list = typeof channels === 'string' ? [channels] : [...new Set(channels)];
    if (list.length === 0) throw new InvalidChannelError(channels, 'give at least one channel');
    list.forEach((channel) => assertValidChannel(channel, this.config.limits));
    return formatCompositeEventId(await this.store.headSeqs(list));
  }

  /** The current seq of a channel: 0 before its first event. */
  async getCurrentSeq(channel: string): Promise<number> {
    assertValidChannel(channel, this.config.limits);
    return (await this.store.headSeqs([channel])).get(channel) ?? 0;
  }

  /**
   * Who is on a channel: its open streams on every instance, and the
   * distinct users of those whose user is known (`identifyUser`), sorted.
   * Direct mode counts other instances' streams as of their last write
   * (within milliseconds, or a few seconds while the database is slow); an
   * instance that died stops counting within 15 s.
   *
   * @example
   * ```ts
   * const { streams, users } = await events.getPresence('room-lobby');
   * ```
   */
  async getPresence(channel: string): Promise<ChannelPresence> {
    assertValidChannel(channel, this.config.limits);
    return this.delivery.presence(channel);
  }

  /**
   * Reads a channel's events after a position, oldest first.
   * Rejects with `EventPositionTooOldError` when events right after `after`
   * were already trimmed, and with `EventPositionAheadError` when `after` is
   * beyond the channel's current seq.
   */
  async getEvents(channel: string, options: GetEventsOptions = {}): Promise<EventPage> {
    assertValidChannel(channel, this.config.limits);
    const { after, limit = 100 } = options;
    if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) {
      throw new InvalidPositionError(after, 'after must be a non-negative integer');
    }
    assertPageLimit(limit);
    const result = await this.store.read(
      channel,
      after,
      limit,
      undefined,
      await this.replicaHead(channel),
    );
    switch (result.status) {
      case 'ahead':
        throw new EventPositionAheadError(channel, after ?? 0, result.headSeq);
      case 'too-old':
        throw new EventPositionTooOldError(channel, after ?? 0, result.oldestSeq, result.headSeq);
    }
    const events = result.events.map(toRecord);
    // With nothing kept and no `after`, reading on starts from the head.
    const cursor = events.at(-1)?.seq ?? after ?? result.headSeq;
    return { events, cursor, headSeq: result.headSeq, hasMore: cursor < result.headSeq };
  }

  /**
   * The newest events of a channel, oldest first: what a page renders before
   * it opens the stream from the page's `cursor` (`formatEventId(channel,
   * cursor)` as the stream's Last-Event-ID), which then misses nothing.
   */
  async getLatestEvents(
    channel: string,
    options: GetLatestEventsOptions = {},
  ): Promise<LatestEventsPage> {
    assertValidChannel(channel, this.config.limits);
    const { before, limit = 100 } = options;
    if (before !== undefined && !(Number.isSafeInteger(before) && before >= 1)) {
      throw new InvalidPositionError(before, 'before must be a positive integer');
    }
    assertPageLimit(limit);
    const result = await this.store.readLatest(
      channel,
      before,
      limit,
      await this.replicaHead(channel),
    );
    const events = result.events.map(toRecord);
    // An empty page still says where a stream would start from.
    const cursor = events.at(-1)?.seq ?? Math.min(before ?? Infinity, result.headSeq + 1) - 1;
    return {
      events,
      cursor,
      headSeq: result.headSeq,
      hasMore: cursor < result.headSeq,
      hasOlder: result.hasOlder,
    };
  }

  /**
   * With read replicas, a page is read from one once it has reached the
   * channel's head on the primary, read first: one row by primary key there
   * instead of the whole page. Without replicas, the page query alone.
   */
  private async replicaHead(channel: string): Promise<number | undefined> {
    if (this.config.replicas.length === 0) return undefined;
    return (await this.store.headSeqs([channel])).get(channel) ?? 0;
  }

  private async append(
    prepared: NewEvent[],
    idempotency: IdempotencyKey | undefined,
  ): Promise<AppendedEvent[]> {
    const ticket = this.delivery.beginAppend(prepared.map(({ channel }) => channel));
    let result: AppendOnceResult;
    try {
      result = idempotency
        ? await this.store.appendOnce(prepared, idempotency)
        : { appended: await this.store.append(prepared), replayed: false };
    } catch (error) {
      ticket.failed();
      throw error;
    }
    // A replay committed nothing now: its events were delivered when the first send committed.
    if (result.replayed) ticket.failed();
    else ticket.committed(committedEvents(prepared, result.appended));
    return result.appended;
  }

  /**
   * Nothing is delivered before the app's transaction commits: the append
   * announces the heads, and a marker where the delivery asks for one, in
   * that transaction, so they are heard only once it commits.
   */
  private async appendInTransaction(
    prepared: NewEvent[],
    transaction: EventStreamTransaction,
    idempotency: IdempotencyKey | undefined,
  ): Promise<AppendedEvent[]> {
    const commitMarker = this.delivery.commitMarker();
    const options = { transaction, commitMarker };
    const { appended, replayed } = idempotency
      ? await this.store.appendOnce(prepared, idempotency, options)
      : { appended: await this.store.append(prepared, options), replayed: false };
    if (commitMarker && !replayed) {
      this.delivery.deliverOnCommit(commitMarker, committedEvents(prepared, appended));
    }
    return appended;
  }

  private prepare(event: AnyEventInput): NewEvent {
    const { limits } = this.config;
    if (typeof event !== 'object' || event === null) {
      throw new TypeError('each event must be an object with channel, type and data');
    }
    assertValidChannel(event.channel, limits);
    assertValidEventType(event.type, limits);
    assertValidPayload(event.type, event.data, this.config.eventPayloads.get(event.type));
    const json = encodeEventData(event.data, limits, this.delivery.escapesPercent);
    return { channel: event.channel, type: event.type, json };
  }
}
