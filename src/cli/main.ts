#!/usr/bin/env node
import { Client } from 'pg';
import { messageOf } from '../eventstream/errors/error-message';
import { applyMigrations, migrationStatus } from '../eventstream/storage/postgres/migrator';
import { resolveOptions } from '../eventstream/options/resolve-options';

const USAGE = `Usage: nestjs-eventstream <command> [--database-url URL] [--schema NAME]

Commands:
  migrate   apply the library's pending migrations
  status    list applied and pending migrations

The database URL defaults to $DATABASE_URL, the schema to $EVENTSTREAM_SCHEMA
or "eventstream".`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'migrate' && command !== 'status') {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 1;
  }
  const flags = parseFlags(rest);
  const databaseUrl = flags['database-url'] ?? process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error(`No database: pass --database-url or set DATABASE_URL.\n\n${USAGE}`);
    return 1;
  }
  const config = resolveOptions({
    databaseUrl,
    schema: flags.schema ?? process.env.EVENTSTREAM_SCHEMA,
  });
  if (config.connection.kind !== 'url') return 1;
  const client = new Client({
    connectionString: config.connection.databaseUrl,
    connectionTimeoutMillis: config.connection.connectTimeoutMs,
  });
  await client.connect();
  try {
    if (command === 'migrate') {
      const applied = await applyMigrations(client, { schema: config.schema, log: console.log });
      if (applied.length === 0) console.log(`Schema "${config.schema}" is up to date.`);
    } else {
      const status = await migrationStatus(client, { schema: config.schema });
      for (const name of status.applied) console.log(`applied   ${name}`);
      for (const name of status.modified) console.log(`modified  ${name}`);
      for (const name of status.failed) console.log(`failed    ${name}`);
      for (const name of status.pending) console.log(`pending   ${name}`);
      return status.pending.length + status.failed.length > 0 ? 2 : 0;
    }
    return 0;
  } finally {
    await client.end();
  }
}

function parseFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--(database-url|schema)(?:=(.*))?$/.exec(args[i]);
    if (!match) throw new Error(`Unknown argument "${args[i]}"\n\n${USAGE}`);
    const value = match[2] ?? args[++i];
    if (value === undefined) throw new Error(`--${match[1]} needs a value`);
    flags[match[1]] = value;
  }
  return flags;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(messageOf(error));
    process.exit(1);
  },
);
