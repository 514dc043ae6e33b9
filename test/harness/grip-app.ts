import { freePort } from '../../src/server/free-port';
import type { EventStreamModuleOptions } from '../../src/eventstream';
import { startHttpApp, type HttpApp, type HttpAppOptions } from './http-app';
import { createTestDatabase, type TestDatabase } from './postgres';
import {
  PUSHPIN_INSTALL_HINT,
  pushpinInstalled,
  startPushpin,
  type PushpinOptions,
  type RunningPushpin,
} from './pushpin';
import { startServerProcess, type ServerProcess } from './server-process';

/** What a GRIP suite runs: its database, a Pushpin, and the app behind that Pushpin. */
export interface BehindPushpin<App> {
  readonly db: TestDatabase;
  readonly pushpin: RunningPushpin;
  readonly app: App;
  /** Stops the app, then Pushpin, then drops the database. */
  stop(): Promise<void>;
}

/** Pushpin's options but the port, which is the app's. The sig key has a default. */
export type PushpinSetup = Omit<PushpinOptions, 'backendPort' | 'sigKey'> & {
  readonly sigKey?: string;
};

const DEFAULT_SIG_KEY = 'grip-suite-key-0123456789abcdefghijklmnopqrstuv';

/**
 * A database, then a Pushpin in front of a free port, then the app that
 * `start` listens with on that port. When a step fails, what already runs is
 * stopped before the error reaches the suite, whose `afterAll` has nothing yet.
 */
export async function startBehindPushpin<App>(
  pushpinSetup: PushpinSetup,
  start: (db: TestDatabase, pushpin: RunningPushpin, port: number) => Promise<App>,
  stopApp: (app: App) => Promise<unknown>,
): Promise<BehindPushpin<App>> {
  // Before anything starts, so a machine without Pushpin gets the hint alone.
  if (!pushpinInstalled()) throw new Error(PUSHPIN_INSTALL_HINT);
  const db = await createTestDatabase();
  let pushpin: RunningPushpin | undefined;
  try {
    const started = async (attempt: number): Promise<{ running: RunningPushpin; app: App }> => {
      const port = await freePort();
      const running = await startPushpin({
        sigKey: DEFAULT_SIG_KEY,
        ...pushpinSetup,
        backendPort: port,
      });
      pushpin = running;
      try {
        return { running, app: await start(db, running, port) };
      } catch (error) {
        // The port was free when drawn, but a suite in another worker took
        // it while this Pushpin started: draw another.
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw error;
        await running.stop();
        pushpin = undefined;
        return started(attempt + 1);
      }
    };
    const { running, app } = await started(1);
    return {
      db,
      pushpin: running,
      app,
      stop: async () => {
        await stopApp(app);
        await running.stop();
        await db.drop();
      },
    };
  } catch (error) {
    await pushpin?.stop();
    await db.drop();
    throw error;
  }
}

export interface GripAppSetup extends Omit<HttpAppOptions, 'port' | 'options'> {
  readonly pushpin?: PushpinSetup;
  /** The module's options; the database and `grip.url` are filled in. */
  readonly options?: Omit<EventStreamModuleOptions, 'databaseUrl' | 'grip'>;
  /** More of `grip` than its URL. */
  readonly grip?: Omit<NonNullable<EventStreamModuleOptions['grip']>, 'url'>;
}

/** A Nest app with the module in GRIP mode, behind a real Pushpin. */
export function startGripApp(setup: GripAppSetup = {}): Promise<BehindPushpin<HttpApp>> {
  const { pushpin: pushpinSetup = {}, options, grip, ...app } = setup;
  return startBehindPushpin(
    pushpinSetup,
    (db, pushpin, port) =>
      startHttpApp({
        ...app,
        port,
        options: { ...options, databaseUrl: db.url, grip: { ...grip, url: pushpin.gripUrl } },
      }),
    (started) => started.close(),
  );
}

/** The bundled server with `GRIP_URL`, behind a real Pushpin, as docker-compose runs it. */
export function startGripServer(
  setup: { readonly pushpin?: PushpinSetup; readonly env?: Record<string, string> } = {},
): Promise<BehindPushpin<ServerProcess>> {
  return startBehindPushpin(
    setup.pushpin ?? {},
    (db, pushpin, port) =>
      startServerProcess({ ...setup.env, DATABASE_URL: db.url, GRIP_URL: pushpin.gripUrl }, port),
    (server) => server.stop(),
  );
}
