import { resolve } from 'node:path';

/** What the bundled server reads from its environment. */
export interface ServerSettings {
  readonly port: number;
  readonly host: string;
  /** Unset: an embedded Postgres keeps its data in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Streaming read replicas of `databaseUrl` (`DATABASE_REPLICA_URLS`); empty: none. */
  readonly replicaUrls: readonly string[];
  readonly dataDir: string;
  /** Unset: no publish endpoint. */
  readonly publishKey: string | undefined;
  /** Each GRIP proxy's publish URL with its key (`GRIP_URL`); empty: direct mode. */
  readonly gripUrls: readonly string[];
  /** Pushpin stats sockets for presence counts (`GRIP_STATS`, comma-separated); empty: none. */
  readonly gripStats: readonly string[];
  /** Serve the demo page at `/` and its endpoints (default on; `EVENTSTREAM_DEMO=off`). */
  readonly demo: boolean;
  /** Serve Prometheus metrics at `/metrics` (default off; `EVENTSTREAM_METRICS=on`). */
  readonly metrics: boolean;
  /** Log lines as JSON objects instead of text (`EVENTSTREAM_LOG_FORMAT=json`). */
  readonly jsonLogs: boolean;
  /** The module's `maxStreams` (`EVENTSTREAM_MAX_STREAMS`); unset: its default. */
  readonly maxStreams: number | undefined;
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
    replicaUrls: readReplicaUrls(env.DATABASE_REPLICA_URLS, env.DATABASE_URL),
    dataDir: resolve(env.EVENTSTREAM_DATA_DIR || '.data'),
    publishKey: env.EVENTSTREAM_PUBLISH_KEY || undefined,
    gripUrls: readList(env.GRIP_URL),
    gripStats: readGripStats(env.GRIP_STATS, env.GRIP_URL),
    demo: readSwitch('EVENTSTREAM_DEMO', env.EVENTSTREAM_DEMO, true),
    metrics: readSwitch('EVENTSTREAM_METRICS', env.EVENTSTREAM_METRICS, false),
    jsonLogs: readLogFormat(env.EVENTSTREAM_LOG_FORMAT) === 'json',
    maxStreams: readPositiveInteger('EVENTSTREAM_MAX_STREAMS', env.EVENTSTREAM_MAX_STREAMS),
  };
}

function readPositiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new Error(`${name} must be a whole number of at least 1, got "${value}"`);
  }
  return number;
}

/**
 * URLs separated by whitespace, which no URL holds unencoded: a comma may be
 * part of one (a libpq URL's host list, a JWK in a GRIP URL's `verify-key`).
 */
function readList(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((url) => url !== '');
}

function readReplicaUrls(value: string | undefined, databaseUrl: string | undefined): string[] {
  const urls = readList(value);
  if (urls.length > 0 && !databaseUrl) {
    throw new Error(
      'DATABASE_REPLICA_URLS needs DATABASE_URL: the embedded database has no replicas',
    );
  }
  return urls;
}

function readGripStats(value: string | undefined, gripUrl: string | undefined): string[] {
  const addresses = (value ?? '').split(',').map((address) => address.trim());
  if (addresses.every((address) => address === '')) return [];
  if (!gripUrl)
    throw new Error('GRIP_STATS needs GRIP_URL: presence is read from Pushpin in GRIP mode');
  return addresses.filter((address) => address !== '');
}

function readLogFormat(value: string | undefined): 'text' | 'json' {
  if (value === undefined || value === '' || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new Error(`EVENTSTREAM_LOG_FORMAT must be text or json, got "${value}"`);
}

function readSwitch(name: string, value: string | undefined, byDefault: boolean): boolean {
  if (value === undefined || value === '') return byDefault;
  if (/^(on|true|1)$/i.test(value)) return true;
  if (/^(off|false|0)$/i.test(value)) return false;
  throw new Error(`${name} must be on or off, got "${value}"`);
}
