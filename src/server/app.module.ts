import { DynamicModule, Module } from '@nestjs/common';
import { EventStreamModule } from '../eventstream';
import { StatusController } from './status.controller';

/** The bundled server: the library used exactly as an application would. */
@Module({})
export class AppModule {
  static forServer(databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [EventStreamModule.forRoot({ databaseUrl, migrate: true })],
      controllers: [StatusController],
    };
  }
}
