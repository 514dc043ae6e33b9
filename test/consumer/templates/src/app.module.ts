import { Module } from '@nestjs/common';
import { EventStreamModule } from 'nestjs-eventstream';
import { AppController } from './app.controller.js';
import { AppService } from './app.service.js';

// The generated AppModule with the library added, as its README's quick start has it.
@Module({
  imports: [EventStreamModule.forRoot({ databaseUrl: process.env.DATABASE_URL, migrate: true })],
  controllers: [AppController],
  providers: [AppService],
})
export class AppModule {}
