import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { EventStreamModuleOptions } from './options/eventstream-options.interface';

export const {
  ConfigurableModuleClass: EventStreamConfigurableModule,
  MODULE_OPTIONS_TOKEN: EVENTSTREAM_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<EventStreamModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createEventStreamOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
