import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { Response } from 'express';
import { ChatConfig } from '../chat.config.js';
import { AuthService } from './auth.service.js';
import type { ChatUser } from './chat-user.js';
import { CurrentUser } from './current-user.decorator.js';
import { LoginDto } from './login.dto.js';
import { SESSION_COOKIE } from './session-token.js';
import { SessionGuard } from './session.guard.js';

@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly config: ChatConfig,
  ) {}

  /**
   * Signs in: the token goes into an httpOnly cookie for the page (and its
   * streams), and into the body for clients that send `Authorization`.
   */
  @Post('login')
  @HttpCode(200)
  async login(
    @Body() body: LoginDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<{ token: string; user: { id: string } }> {
    const { token, user } = await this.auth.signIn(body.name);
    response.cookie(SESSION_COOKIE, token, {
      httpOnly: true, // page scripts (and injected ones) cannot read it
      sameSite: 'strict', // other sites' pages cannot post with it (CSRF)
      secure: this.config.secureCookie,
      path: '/',
      maxAge: this.config.sessionSeconds * 1000,
    });
    return { token, user: { id: user.id } };
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Res({ passthrough: true }) response: Response): void {
    response.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@CurrentUser() user: ChatUser): { id: string } {
    return { id: user.id };
  }
}
