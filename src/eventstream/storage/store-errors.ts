import {
  EventStoreError,
  EventStoreUnavailableError,
  EventStreamError,
} from '../errors/eventstream.errors';

// Postgres SQLSTATE classes and Node socket codes that mean "the database is
// not there right now", as opposed to a bug in a query.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3])/;
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
const UNAVAILABLE_MESSAGES =
  /timeout|timed out|terminated|connection.*(closed|ended|refused|reset)|ECONNREFUSED|ECONNRESET|Can't reach database/i;

/** Wraps a driver or Prisma error in the library's own error type. */
export function toStoreError(operation: string, error: unknown): Error {
  if (error instanceof EventStreamError) return error;
  return isUnavailable(error)
    ? new EventStoreUnavailableError(operation, error)
    : new EventStoreError(operation, error);
}

function isUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') break;
    const { code, message, cause, meta } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (
      typeof code === 'string' &&
      (UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))
    ) {
      return true;
    }
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    // Prisma reports a failed raw query as P2010, with the driver's error
    // (and its SQLSTATE, e.g. 57P01 when Postgres shuts down) in its meta.
    current = cause ?? meta?.driverAdapterError;
  }
  return false;
}
