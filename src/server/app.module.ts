import { type DynamicModule, Module } from '@nestjs/common';
import { EventStreamModule } from '../eventstream';
import { DemoController } from './demo/demo.controller';
import { createPublishController } from './publish/publish.controller';
import { StatusController } from './status.controller';

export interface AppModuleSettings {
  readonly databaseUrl: string;
  readonly publishKey: string | undefined;
  readonly gripUrl: string | undefined;
  readonly demo: boolean;
}

/** The bundled server: the library used exactly as an application would. */
@Module({})
export class AppModule {
  static forServer(settings: AppModuleSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        EventStreamModule.forRoot({
          databaseUrl: settings.databaseUrl,
          migrate: true,
          ...(settings.gripUrl ? { grip: { url: settings.gripUrl } } : {}),
        }),
      ],
      controllers: [
        StatusController,
        ...(settings.demo ? [DemoController] : []),
        ...(settings.publishKey ? [createPublishController(settings.publishKey)] : []),
      ],
    };
  }
}
