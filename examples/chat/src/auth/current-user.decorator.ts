import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { SignedInRequest } from './session.guard.js';

/** The user `SessionGuard` found, in a handler behind it. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<SignedInRequest>().user,
);
