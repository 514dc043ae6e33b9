import { Module } from '@nestjs/common';
import type { Request } from 'express';
import { EventStreamModule } from 'nestjs-eventstream';
import { AuthModule } from './auth/auth.module.js';
import { AuthService } from './auth/auth.service.js';
import type { ChatUser } from './auth/chat-user.js';
import { ChatAuthorizer } from './auth/chat.authorizer.js';
import { ChatConfig } from './chat.config.js';
import { ConfigModule } from './config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { RoomsModule } from './rooms/rooms.module.js';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule,
    AuthModule,
    RoomsModule,
    EventStreamModule.forRootAsync({
      imports: [AuthModule],
      inject: [ChatConfig, AuthService, ChatAuthorizer],
      useFactory: (
        config: ChatConfig,
        auth: AuthService,
        authorizer: ChatAuthorizer,
      ) => ({
        databaseUrl: config.databaseUrl,
        migrate: true, // the library's own tables, in its `eventstream` schema
        authorizer,
        // The built-in /events route has no guard: find the user here, from
        // the cookie (browsers) or the Authorization header.
        resolveUser: (request) => auth.userFromRequest(request as Request),
        // GRIP mode: Pushpin calls next links without cookies, with the user
        // id the library signed into them; a member check needs nothing more.
        loadUser: (id): ChatUser => ({ id }),
        // GRIP mode: streams only through Pushpin, which signs what it
        // proxies; a request that bypassed it is refused (403).
        ...(config.gripUrl
          ? {
              grip: {
                url: config.gripUrl,
                unsignedRequests: 'refuse' as const,
              },
            }
          : {}),
      }),
      // RoomsService injects EventStreamService without importing the module.
      isGlobal: true,
    }),
  ],
})
export class AppModule {}
