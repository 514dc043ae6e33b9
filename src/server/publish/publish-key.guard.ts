import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { discardUnreadBody } from '../json-body/unread-body';

/** Lets a request through only with `Authorization: Bearer <publish key>`. */
@Injectable()
export class PublishKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(key: string) {
    this.expected = digest(key);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage>();
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
    // Comparing digests of equal length, in constant time, tells a caller
    // nothing about how much of a guess was right.
    if (!match || !timingSafeEqual(digest(match[1]), this.expected)) {
      // Answered before the body is read: not a byte of it is parsed.
      discardUnreadBody(request);
      throw new UnauthorizedException(
        'A valid publish key is required: Authorization: Bearer <key>',
      );
    }
    return true;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
