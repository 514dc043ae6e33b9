import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelPresence } from '../presence/channel-presence';
import type { AppendTicket, CommittedEvent } from './committed-event';

/** The Node request and response of a stream. */
export interface StreamHttp {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

/** A stream request that passed every check: valid, authorized, its initial frames made. */
export interface AcceptedStream {
  readonly http: StreamHttp;
  /** The request as the framework gave it: the authorizer's re-checks get it again. */
  readonly request: object;
  readonly channels: readonly string[];
  /** The client's last seq per channel it resumes. */
  readonly positions: ReadonlyMap<string, number>;
  readonly user: unknown;
  /** When the soonest access to one of its channels ends. */
  readonly expiresAt: Date | undefined;
  /** Frames of the connect hook's initial events. */
  readonly initial: string;
  /** Whether the client has left since the request came in. */
  readonly gone: () => boolean;
}

/** A call of a delivery's own continuation link: GRIP's next link. */
export interface ContinuationRequest {
  readonly http: StreamHttp;
  readonly request: object;
  readonly token: string | undefined;
  readonly lastEventId: string | undefined;
}

/** Who holds the stream a request opens. */
export interface StreamHolder {
  /** This instance holds the stream, so it takes one of its stream slots. */
  readonly local: boolean;
  /** Serves the stream: replay from the client's positions, then live events. */
  open(stream: AcceptedStream): Promise<void>;
  /** Serves a continuation link; absent where the holder has none. */
  continue?(request: ContinuationRequest): Promise<void>;
}

/** A dependency of the delivery besides the database, as health reports it. */
export interface DeliveryDependency {
  readonly name: string;
  /** Why it does not answer; absent when it does. */
  readonly error?: string;
}

/**
 * How committed events reach clients. The service tells it what was
 * committed and whose access changed; the events route asks it who holds a
 * stream. Two implementations: direct (this instance holds the streams and
 * reads the log for them) and GRIP (a proxy holds them and is published to,
 * with direct streams for unsigned requests where the options allow them).
 */
export interface EventDelivery {
  /** Whether frames escape each `%`, so that event data counts it twice against its limit. */
  readonly escapesPercent: boolean;
  /**
   * Decides who holds a stream opened by `request`, before anything else is
   * read from it. Throws `ProxyRequestRefusedError` when no one may.
   */
  holderFor(request: IncomingMessage): Promise<StreamHolder>;
  /** Call before this instance appends on `channels`; report the outcome on the ticket. */
  beginAppend(channels: readonly string[]): AppendTicket;
  /**
   * For an append in an app's transaction: the marker the append must
   * announce when that transaction commits, when this delivery needs one;
   * then `deliverOnCommit` with the events appended.
   */
  commitMarker(): string | undefined;
  deliverOnCommit(marker: string, events: readonly CommittedEvent[]): void;
  /**
   * Asks the authorizer again for `userId`'s streams on `channel`, on every
   * instance, and ends those it now refuses. Resolves once this instance's
   * part is done.
   */
  permissionChanged(userId: string, channel: string): Promise<void>;
  /** The streams open on `channel`, on every instance, and their known users. */
  presence(channel: string): Promise<ChannelPresence>;
  /** Checks what delivery depends on besides the database. */
  checkDependencies(): Promise<readonly DeliveryDependency[]>;
}

/** Injection token of the {@link EventDelivery} the module chose from its options. */
export const EVENT_DELIVERY = Symbol('EVENT_DELIVERY');
