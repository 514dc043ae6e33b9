/**
 * Why a stream stopped or is being retried. `terminal` errors end the stream
 * for good (state `closed`); the others are followed by a reconnect.
 *
 * `condition` is the server's (`bad-request`, `unauthorized`, `forbidden`,
 * `unavailable`, `internal-error`, …) when it gave one, else one of the
 * client's: `http-error` (a status without a known body),
 * `request-too-large` (a 414 or 431: the URL, with its position, or the
 * headers are longer than the server takes), `network-error` (no answer),
 * `disconnected` (the stream ended), `idle-timeout` (nothing arrived for
 * `idleTimeoutMs`), `protocol-error` (not an event stream, or data that is
 * not JSON).
 */
export class StreamError extends Error {
  override readonly name = 'StreamError';

  constructor(
    readonly condition: string,
    message: string,
    readonly terminal: boolean,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    /**
     * How long the server asked to wait before the next attempt
     * (`Retry-After`, on a 429 or 503), in milliseconds: the reconnect waits
     * at least this long.
     */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
