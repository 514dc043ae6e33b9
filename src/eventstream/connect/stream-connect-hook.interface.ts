import type { IncomingMessage } from 'node:http';

/** An event for the connecting client only: not stored, and without an id. */
export interface InitialEvent {
  readonly type: string;
  /** Any JSON-serialisable value. */
  readonly data: unknown;
}

/** What the hook knows about the stream being opened. */
export interface StreamConnectContext<User = unknown, Request = IncomingMessage> {
  /** The user as `resolveUser` gave it, authorized for every channel. */
  readonly user: User | undefined;
  readonly channels: readonly string[];
  /** The request, as the HTTP platform gives it to controllers. */
  readonly request: Request;
  /** The client's Last-Event-ID (header or `?lastEventId=`): absent on a first connect. */
  readonly lastEventId: string | undefined;
}

/**
 * Sends events to a client as its stream opens, before anything stored: the
 * current state of a document, an unread count. They carry no id, so they
 * never move the client's position. Called on every connect and reconnect,
 * after authorization; in GRIP mode they go in the first reply's body.
 */
export interface StreamConnectHook<User = unknown, Request = IncomingMessage> {
  onConnect(
    context: StreamConnectContext<User, Request>,
  ): readonly InitialEvent[] | undefined | Promise<readonly InitialEvent[] | undefined>;
}

/** Injection token of the {@link StreamConnectHook} in use. */
export const EVENTSTREAM_CONNECT_HOOK = Symbol('EVENTSTREAM_CONNECT_HOOK');

/** The default: streams open with no initial events. */
export class NoInitialEvents implements StreamConnectHook {
  onConnect(): readonly InitialEvent[] {
    return [];
  }
}
