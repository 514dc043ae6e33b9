import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { configureApp } from './configure-app.js';

const app = configureApp(
  await NestFactory.create<NestExpressApplication>(AppModule),
);
await app.listen(
  Number(process.env.PORT ?? 3000),
  process.env.HOST ?? '127.0.0.1',
);
console.log(`Chat on ${await app.getUrl()}`);
