import { UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { discardUnreadBody } from '../json-body/unread-body';

/**
 * A check that lets a request through only with `Authorization: Bearer
 * <publish key>`, and otherwise throws a 401 before a byte of its body is read.
 */
export function publishKeyCheck(key: string): (request: IncomingMessage) => void {
  const expected = digest(key);
  return (request) => {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
    // Comparing digests of equal length, in constant time, tells a caller
    // nothing about how much of a guess was right.
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      discardUnreadBody(request);
      throw new UnauthorizedException(
        'A valid publish key is required: Authorization: Bearer <key>',
      );
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
