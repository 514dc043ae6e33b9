// `nestjs-eventstream/migrations`: the migrator the module and the CLI run,
// for an operator's own tooling on a `pg` client. Nothing inside the library
// imports this file.
export {
  applyMigrations,
  migrationStatus,
  type MigrationOptions,
  type MigrationStatus,
} from '../storage/postgres/migrator';
export type { MigrationFile } from '../storage/postgres/migration-files';
