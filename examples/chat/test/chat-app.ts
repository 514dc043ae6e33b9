import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import { AppModule } from '../src/app.module.js';
import { ChatConfig } from '../src/chat.config.js';
import { configureApp } from '../src/configure-app.js';

export interface RunningChat {
  readonly app: NestExpressApplication;
  /** e.g. `http://127.0.0.1:41234` */
  readonly base: string;
  close(): Promise<void>;
}

/**
 * The whole app, configured as main.ts does, listening on a free port (or
 * `port`), on a database of its own in the test Postgres (dropped on close);
 * with `gripUrl`, in GRIP mode as docker-compose.yml runs it.
 */
export async function startChatApp(
  adminUrl: string,
  options: { port?: number; gripUrl?: string } = {},
): Promise<RunningChat> {
  const database = `chat_${process.pid}_${Date.now()}`;
  await admin(adminUrl, `CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;

  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(ChatConfig)
    .useValue(
      new ChatConfig(
        url.href,
        'test-secret-'.repeat(4),
        3600,
        false,
        options.gripUrl,
      ),
    )
    .compile();
  const app = configureApp(
    moduleRef.createNestApplication<NestExpressApplication>(),
  );
  await app.listen(options.port ?? 0, '127.0.0.1');
  return {
    app,
    base: await app.getUrl(),
    close: async () => {
      await app.close();
      await admin(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

async function admin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
