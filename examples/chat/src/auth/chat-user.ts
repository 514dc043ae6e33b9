/** A signed-in user, as the session token says. */
export interface ChatUser {
  /** The name signed in with (lower case): the user's id and channel suffix. */
  readonly id: string;
  /** When the session ends; unknown for users loaded from an id (GRIP next links). */
  readonly expiresAt?: Date;
}

/** The user channel of a user: only they may read it. */
export const userChannel = (userId: string): `user-${string}` =>
  `user-${userId}`;

/** The channel of a room: its members may read it. */
export const roomChannel = (room: string): `room-${string}` => `room-${room}`;

/** User names and room names: safe in channel names, URLs and cookies. */
export const NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;

export type ChatChannel =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'room'; readonly room: string };

/** What a channel name stands for, or `undefined` for one the app never uses. */
export function parseChannel(channel: string): ChatChannel | undefined {
  const match = /^(user|room)-(.*)$/.exec(channel);
  if (!match || !NAME_PATTERN.test(match[2])) return undefined;
  return match[1] === 'user'
    ? { kind: 'user', userId: match[2] }
    : { kind: 'room', room: match[2] };
}
