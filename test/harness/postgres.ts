import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { waitFor } from './wait';

/** Set by the global setup: a URL with the right to create databases. */
export const ADMIN_URL_VARIABLE = 'EVENTSTREAM_TEST_ADMIN_URL';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Runs one query on a fresh connection. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A new, empty database for one suite, on the run's Postgres. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env[ADMIN_URL_VARIABLE];
  if (!adminUrl) throw new Error(`${ADMIN_URL_VARIABLE} is not set: run tests through jest`);
  const name = `es_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    query: async <T extends object>(sql: string, params: unknown[] = []) =>
      withClient(url.toString(), async (client) => (await client.query<T>(sql, params)).rows),
    drop: async () => {
      await withClient(adminUrl, async (c) => {
        // pg's Pool.end() resolves once it has asked its connections to close,
        // not once they are gone; FORCE would kill a closing one, and its
        // pool would throw that as an unhandled error in the suite.
        await waitFor(async () => !(await hasConnections(c, name)), 5_000).catch(() => undefined);
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

async function hasConnections(admin: Client, database: string): Promise<boolean> {
  const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [
    database,
  ]);
  return rows.length > 0;
}

export async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
