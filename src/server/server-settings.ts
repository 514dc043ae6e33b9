import { resolve } from 'node:path';

/** What the bundled server reads from its environment. */
export interface ServerSettings {
  readonly port: number;
  readonly host: string;
  /** Unset: an embedded Postgres keeps its data in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Unset: no publish endpoint. */
  readonly publishKey: string | undefined;
  /** A GRIP proxy's publish URL with its key; unset: direct mode. */
  readonly gripUrl: string | undefined;
}

export function readServerSettings(env: NodeJS.ProcessEnv): ServerSettings {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.EVENTSTREAM_DATA_DIR || '.data'),
    publishKey: env.EVENTSTREAM_PUBLISH_KEY || undefined,
    gripUrl: env.GRIP_URL || undefined,
  };
}
