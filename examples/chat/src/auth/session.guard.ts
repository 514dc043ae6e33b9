import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import { AuthService } from './auth.service.js';
import type { ChatUser } from './chat-user.js';

export type SignedInRequest = Request & { user: ChatUser };

/** Lets only signed-in users through, and puts the user on `request.user`. */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<Request & { user?: ChatUser }>();
    const user = this.auth.userFromRequest(request);
    if (!user) throw new UnauthorizedException('Sign in first');
    request.user = user;
    return true;
  }
}
