import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { ChatUser } from './chat-user.js';
import { readSessionToken } from './session-token.js';

interface SessionClaims {
  readonly sub: string;
  readonly exp: number;
}

export interface Session {
  readonly token: string;
  readonly user: ChatUser;
}

/** Issues session tokens and finds the user of a request from one. */
@Injectable()
export class AuthService {
  constructor(private readonly jwt: JwtService) {}

  /**
   * Signs a user in by name alone: this example has no passwords. A real app
   * checks credentials (or an identity provider) here and keeps the rest.
   */
  async signIn(name: string): Promise<Session> {
    // The name is the id: LoginDto takes lower case only, one spelling per user.
    const token = await this.jwt.signAsync({ sub: name });
    return { token, user: this.userOf(this.jwt.decode<SessionClaims>(token)) };
  }

  /**
   * The user of a request, or `undefined` without a valid token. Synchronous,
   * since the library's `resolveUser` is called synchronously.
   */
  userFromRequest(
    request: Parameters<typeof readSessionToken>[0],
  ): ChatUser | undefined {
    const token = readSessionToken(request);
    if (!token) return undefined;
    try {
      // Pinned to HS256: never the algorithm a token names for itself.
      const claims = this.jwt.verify<SessionClaims>(token, {
        algorithms: ['HS256'],
      });
      return this.userOf(claims);
    } catch {
      return undefined; // expired, forged or malformed: not signed in
    }
  }

  private userOf(claims: SessionClaims): ChatUser {
    return { id: claims.sub, expiresAt: new Date(claims.exp * 1000) };
  }
}
