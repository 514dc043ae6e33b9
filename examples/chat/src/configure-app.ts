import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import { join } from 'node:path';

/** The page and its script, served at `/`. */
export const PUBLIC_DIR = join(import.meta.dirname, '..', 'public');

/** What main.ts and the tests both apply to the app, so tests run the real one. */
export function configureApp(
  app: NestExpressApplication,
): NestExpressApplication {
  // Fills request.cookies, where the session token of browsers is.
  app.use(cookieParser());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }),
  );
  app.useStaticAssets(PUBLIC_DIR);
  app.enableShutdownHooks();
  return app;
}
