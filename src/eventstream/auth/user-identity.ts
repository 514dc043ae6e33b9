/**
 * Finds the user of a request (as the HTTP platform gives it to controllers).
 * Default: `request.user`, as Nest guards and Passport set it.
 */
export type UserResolver = (request: object) => unknown;

/** A stable key for a user, to find their open streams. Default: `user.id`, else `user.sub`. */
export type UserIdentifier = (user: unknown) => string | undefined;

export const defaultUserResolver: UserResolver = (request) => (request as { user?: unknown }).user;

export const defaultUserIdentifier: UserIdentifier = (user) => {
  if (typeof user !== 'object' || user === null) return undefined;
  const { id, sub } = user as { id?: unknown; sub?: unknown };
  for (const key of [id, sub]) {
    if (typeof key === 'string' || typeof key === 'number') return String(key);
  }
  return undefined;
};

/** Turns the user id of a next link back into a user. Default: `{ id }`. */
export type UserLoader = (userId: string) => unknown;

export const defaultUserLoader: UserLoader = (id) => ({ id });
