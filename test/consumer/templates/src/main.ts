import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { createHttpAdapter } from './http-adapter.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, createHttpAdapter());
  // The suite stops the built app with SIGTERM: the module closes its pools then.
  app.enableShutdownHooks();
  await app.listen(process.env.PORT ?? 3000, '127.0.0.1');
}
// Not top-level await: the same file serves the CommonJS apps.
void bootstrap();
