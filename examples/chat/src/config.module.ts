import { Global, Module } from '@nestjs/common';
import { ChatConfig } from './chat.config.js';

/** The settings, read once and injectable everywhere (tests override them). */
@Global()
@Module({
  providers: [{ provide: ChatConfig, useFactory: () => ChatConfig.fromEnv() }],
  exports: [ChatConfig],
})
export class ConfigModule {}
