import type { RunningPostgres } from '../../src/server/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { embeddedPostgres?: RunningPostgres }).embeddedPostgres?.stop();
}
