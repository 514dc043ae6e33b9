import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EventStreamService } from './eventstream';
import { AppModule } from './server/app.module';
import { RunningPostgres, startEmbeddedPostgres } from './server/embedded-postgres';
import { createPublishRoute, isPublishRequest } from './server/publish/publish-route';
import { applyRequestTimeouts } from './server/request-timeouts';
import { serveAhead } from './server/serve-ahead';
import { readServerSettings } from './server/server-settings';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Server');
  const settings = readServerSettings(process.env);
  // One JSON object per line, for log collectors; set before the first line.
  const jsonLogger = settings.jsonLogs ? new ConsoleLogger({ json: true }) : undefined;
  if (jsonLogger) Logger.overrideLogger(jsonLogger);
  let embedded: RunningPostgres | undefined;
  let databaseUrl = settings.databaseUrl;
  if (!databaseUrl) {
    const dataDir = join(settings.dataDir, 'postgres');
    embedded = await startEmbeddedPostgres({ dataDir, persistent: true });
    databaseUrl = embedded.url;
    logger.log(`Embedded PostgreSQL started, data in ${dataDir}`);
  }
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forServer({
      databaseUrl,
      replicaUrls: settings.replicaUrls,
      gripUrls: settings.gripUrls,
      gripStats: settings.gripStats,
      demo: settings.demo,
      metrics: settings.metrics,
      maxStreams: settings.maxStreams,
    }),
    {
      // Each route reads its own body (readJsonBody), so POST /publish reads
      // one only once its key is checked.
      bodyParser: false,
      ...(jsonLogger ? { logger: jsonLogger } : {}),
    },
  );
  // Shut down in order: the app (and its database connections), then the
  // embedded database it was using.
  const shutdown = async (signal: string) => {
    logger.log(`${signal} received, shutting down`);
    await app.close();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));
  applyRequestTimeouts(app.getHttpServer());
  if (settings.publishKey) {
    const route = createPublishRoute(app.get(EventStreamService), settings.publishKey);
    serveAhead(app.getHttpServer(), isPublishRequest, route);
  }
  await app.listen(settings.port, settings.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://${settings.host}:${port}`;
  // The key in GRIP_URL is a secret: only the proxies' addresses are printed.
  const mode =
    settings.gripUrls.length > 0
      ? `GRIP mode (proxy publish API ${settings.gripUrls.map((u) => new URL(u).origin).join(', ')})`
      : 'direct mode';
  logger.log(
    settings.demo
      ? `Demo: ${url}/ (anyone who reaches it may post to "demo" channels; EVENTSTREAM_DEMO=off)`
      : 'Demo off',
  );
  logger.log(`Streams: ${url}/events?channel=NAME`);
  logger.log(
    settings.publishKey
      ? `Publish: POST ${url}/publish (Authorization: Bearer <EVENTSTREAM_PUBLISH_KEY>)`
      : 'Publish endpoint off: set EVENTSTREAM_PUBLISH_KEY to enable POST /publish',
  );
  logger.log(
    `Listening on ${url} in ${mode} (database: ${embedded ? 'embedded' : 'DATABASE_URL'}` +
      `${settings.replicaUrls.length > 0 ? `, ${settings.replicaUrls.length} read replica(s)` : ''})`,
  );
}

void bootstrap();
