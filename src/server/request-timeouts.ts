import type { Server } from 'node:http';

/**
 * How long a client may take to send a request's headers (`headersTimeout`),
 * and its whole request, body included (`requestTimeout`), before the server
 * answers 408 and closes the socket. Node's defaults, 60 s and 300 s checked
 * every 30 s, let a client hold a socket for up to 90 s with headers it never
 * finishes and 330 s with a body it never ends (87 s and 327 s measured).
 * Neither covers the response: a stream, whose request ends with its
 * headers, stays open as long as it is read.
 */
export const REQUEST_TIMEOUTS = {
  headersTimeout: 10_000,
  // Room for a 1 MB publish body on a slow link.
  requestTimeout: 30_000,
  // How often Node looks for requests past their deadline, so a 408 comes
  // at most this late.
  connectionsCheckingInterval: 1_000,
} as const;

/** Sets {@link REQUEST_TIMEOUTS} on the server; before it listens, where Node reads the interval. */
export function applyRequestTimeouts(server: Server): void {
  Object.assign(server, REQUEST_TIMEOUTS);
}
