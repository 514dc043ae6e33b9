import { BadRequestException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { idempotencyKeyOf } from './idempotency-key-header';

const requestWith = (...rawHeaders: string[]) =>
  ({ rawHeaders, complete: true }) as unknown as IncomingMessage;

describe('idempotencyKeyOf', () => {
  test('reads a bare key, a Structured Field string, or none', () => {
    expect(idempotencyKeyOf(requestWith('Host', 'x'))).toBeUndefined();
    expect(idempotencyKeyOf(requestWith('idempotency-key', 'abc'))).toBe('abc');
    expect(idempotencyKeyOf(requestWith('Idempotency-Key', '"a \\"b\\" \\\\c"'))).toBe('a "b" \\c');
    expect(idempotencyKeyOf(requestWith('IDEMPOTENCY-KEY', '""'))).toBe('');
  });

  const QUOTED = 'a quoted key must be printable ASCII in double quotes, with \\" and \\\\ escaped';

  test.each([
    [['Idempotency-Key', 'a', 'idempotency-key', 'b'], 'give it once'],
    [['Idempotency-Key', '"open'], QUOTED],
    [['Idempotency-Key', '"a\\x"'], QUOTED],
    [['Idempotency-Key', '"é"'], QUOTED],
  ])('refuses %j with a 400 naming the header', (headers, reason) => {
    let thrown: unknown;
    try {
      idempotencyKeyOf(requestWith(...headers));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadRequestException);
    expect((thrown as BadRequestException).getResponse()).toMatchObject({
      message: [`Invalid Idempotency-Key header: ${reason}`],
    });
  });
});
