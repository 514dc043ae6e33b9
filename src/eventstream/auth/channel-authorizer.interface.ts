import type { IncomingMessage } from 'node:http';

/**
 * The answer of an authorizer: a plain boolean, or an object that may also
 * say until when the access holds. At `expiresAt` the stream is closed with
 * a `stream-error` and the client must connect (and be authorized) again.
 */
export type ChannelAccess = boolean | { readonly allowed: boolean; readonly expiresAt?: Date };

/**
 * Decides who may read which channel. It is asked for every channel of a
 * stream before anything is sent, on every reconnect, and again when the app
 * calls `EventStreamService.channelPermissionChanged`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class RoomAuthorizer implements ChannelAuthorizer<User> {
 *   constructor(private readonly rooms: RoomService) {}
 *   async canReadChannel(user: User | undefined, channel: string) {
 *     if (channel === 'announcements') return true;
 *     return user !== undefined && this.rooms.isMember(user.id, channel);
 *   }
 * }
 * ```
 */
export interface ChannelAuthorizer<User = unknown, Request = IncomingMessage> {
  /**
   * @param request the request as the HTTP platform gives it to controllers
   * (Express' `Request`, Fastify's `FastifyRequest`), so cookies, query
   * tokens and whatever guards set on it are at hand.
   */
  canReadChannel(
    user: User | undefined,
    channel: string,
    request: Request,
  ): ChannelAccess | Promise<ChannelAccess>;
}

/** Injection token of the {@link ChannelAuthorizer} in use. */
export const EVENTSTREAM_AUTHORIZER = Symbol('EVENTSTREAM_AUTHORIZER');

/**
 * The default: everyone may read every channel. Fine for public feeds; give
 * the module an `authorizer` for anything else.
 */
export class AllowAllAuthorizer implements ChannelAuthorizer {
  canReadChannel(): boolean {
    return true;
  }
}
