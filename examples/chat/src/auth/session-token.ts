import type { IncomingHttpHeaders } from 'node:http';

/** The cookie the session token travels in: what browsers' streams send. */
export const SESSION_COOKIE = 'chat_session';

interface RequestLike {
  readonly headers: IncomingHttpHeaders;
  /** Set by cookie-parser. */
  readonly cookies?: Record<string, unknown>;
}

/**
 * The session token of a request: `Authorization: Bearer …` (scripts,
 * other services), else the session cookie (browsers: `EventSource` and the
 * library's client in a page cannot be given a header the page does not know,
 * and the cookie is httpOnly, so page scripts never see the token).
 */
export function readSessionToken(request: RequestLike): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  return typeof cookie === 'string' && cookie !== '' ? cookie : undefined;
}
