import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { ChatConfig } from '../chat.config.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { ChatAuthorizer } from './chat.authorizer.js';
import { SessionGuard } from './session.guard.js';

@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [ChatConfig],
      useFactory: (config: ChatConfig) => ({
        secret: config.jwtSecret,
        signOptions: { algorithm: 'HS256', expiresIn: config.sessionSeconds },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, SessionGuard, ChatAuthorizer],
  exports: [AuthService, SessionGuard, ChatAuthorizer],
})
export class AuthModule {}
