import { createTestDatabase, type TestDatabase } from './postgres';
import { startServerProcess, type ServerProcess } from './server-process';

/** The bundled server of a suite and its database, once `beforeAll` has run. */
export interface ServerSuite {
  readonly server: ServerProcess;
  readonly db: TestDatabase;
}

/**
 * Starts the bundled server on a database of its own before the suite's
 * tests (with `env` besides `DATABASE_URL`), and stops both after them.
 */
export function serverOnOwnDatabase(env: Record<string, string> = {}): ServerSuite {
  const suite: { server?: ServerProcess; db?: TestDatabase } = {};
  beforeAll(async () => {
    suite.db = await createTestDatabase();
    suite.server = await startServerProcess({ DATABASE_URL: suite.db.url, ...env });
  });
  afterAll(async () => {
    await suite.server?.stop();
    await suite.db?.drop();
  });
  return {
    get server() {
      if (!suite.server) throw new Error('the server starts in beforeAll');
      return suite.server;
    },
    get db() {
      if (!suite.db) throw new Error('the database is made in beforeAll');
      return suite.db;
    },
  };
}
