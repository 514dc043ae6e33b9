import { InvalidIdempotencyKeyError } from '../errors/eventstream.errors';
import { MAX_IDEMPOTENCY_KEY_LENGTH, assertValidIdempotencyKey } from './idempotency-key';

describe('assertValidIdempotencyKey', () => {
  test.each([
    'a',
    '8e03978e-40d5-43e8-bc93-6894a57f9324',
    'order 42/charge',
    'é😀',
    'x'.repeat(255),
  ])('accepts %j', (key) => expect(() => assertValidIdempotencyKey(key)).not.toThrow());

  test.each<[unknown, string]>([
    [undefined, 'it must be a string'],
    [7, 'it must be a string'],
    ['', 'it must not be empty'],
    ['x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1), 'at most 255 characters, got 256'],
    ['tab\there', 'printable text'],
    ['del\u007f', 'printable text'],
    ['c1\u0085', 'printable text'],
    ['\udc00lone', 'printable text'],
  ])('refuses %j: %s', (key, reason) => {
    expect(() => assertValidIdempotencyKey(key)).toThrow(InvalidIdempotencyKeyError);
    expect(() => assertValidIdempotencyKey(key)).toThrow(reason);
  });
});
