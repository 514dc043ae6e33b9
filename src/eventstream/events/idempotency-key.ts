import { InvalidIdempotencyKeyError } from '../errors/eventstream.errors';

/** Longest idempotency key accepted, in characters (a UUID is 36; Stripe allows 255). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Control characters, and halves of a character (lone surrogates), would make
// keys hard to log, compare by eye, store as text or carry in a header.
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;

/** Throws {@link InvalidIdempotencyKeyError} unless `key` is a usable idempotency key. */
export function assertValidIdempotencyKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidIdempotencyKeyError(key, 'it must be a string');
  if (key.length === 0) throw new InvalidIdempotencyKeyError(key, 'it must not be empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(
      key,
      `it must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}`,
    );
  }
  if (UNPRINTABLE.test(key)) {
    throw new InvalidIdempotencyKeyError(
      key,
      'it must be printable text, without control characters',
    );
  }
}
