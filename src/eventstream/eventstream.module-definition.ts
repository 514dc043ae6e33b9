import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createEventsController } from './http/events.controller';
import type { EventStreamModuleOptions } from './options/eventstream-options';

/** Settings of the module itself, given next to the options in `forRoot`/`forRootAsync`. */
export interface EventStreamModuleExtras {
  /** Register the module globally. Default false. */
  isGlobal: boolean;
  /** Path of the built-in stream route, or `false` for none. Default `events`. */
  path: string | false;
}

export const {
  ConfigurableModuleClass: EventStreamConfigurableModule,
  MODULE_OPTIONS_TOKEN: EVENTSTREAM_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<EventStreamModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createEventStreamOptions')
  .setExtras<EventStreamModuleExtras>(
    { isGlobal: false, path: 'events' },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      // The route path must be known when the module is declared, before any
      // async options resolve, so it is a module setting, not an option.
      controllers: extras.path === false ? [] : [createEventsController(extras.path)],
    }),
  )
  .build();
