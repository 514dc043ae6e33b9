import { type DynamicModule, Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { EventStreamModule } from '../eventstream';
import { DemoController } from './demo/demo.controller';
import { DEMO_DATABASE_URL, DemoMessages } from './demo/demo-messages';
import { MetricsController } from './metrics/metrics.controller';
import { StatusController } from './status.controller';

export interface AppModuleSettings {
  readonly databaseUrl: string;
  readonly replicaUrls: readonly string[];
  readonly gripUrls: readonly string[];
  readonly gripStats: readonly string[];
  readonly demo: boolean;
  readonly metrics: boolean;
  readonly maxStreams: number | undefined;
}

/**
 * The bundled server: the library used exactly as an application would.
 * `POST /publish` is served ahead of it (see `createPublishRoute`).
 */
@Module({})
export class AppModule {
  static forServer(settings: AppModuleSettings): DynamicModule {
    // The server's own registry: the module's metrics and Node's.
    const registry = settings.metrics ? new Registry() : undefined;
    if (registry) collectDefaultMetrics({ register: registry });
    return {
      module: AppModule,
      imports: [
        EventStreamModule.forRoot({
          databaseUrl: settings.databaseUrl,
          migrate: true,
          ...(settings.replicaUrls.length > 0 ? { replicas: settings.replicaUrls } : {}),
          ...(settings.gripUrls.length > 0
            ? {
                grip: {
                  // One URL as given, several as the list: each proxy gets every event.
                  url: settings.gripUrls.length === 1 ? settings.gripUrls[0] : settings.gripUrls,
                  ...(settings.gripStats.length > 0 ? { stats: settings.gripStats } : {}),
                },
              }
            : {}),
          ...(registry ? { metrics: { registry } } : {}),
          ...(settings.maxStreams ? { maxStreams: settings.maxStreams } : {}),
        }),
      ],
      providers: [
        ...(settings.demo
          ? [{ provide: DEMO_DATABASE_URL, useValue: settings.databaseUrl }, DemoMessages]
          : []),
        ...(registry ? [{ provide: Registry, useValue: registry }] : []),
      ],
      controllers: [
        StatusController,
        ...(settings.demo ? [DemoController] : []),
        ...(registry ? [MetricsController] : []),
      ],
    };
  }
}
