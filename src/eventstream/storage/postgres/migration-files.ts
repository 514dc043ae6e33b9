import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One migration as the migrator applies it: its folder name under `prisma/migrations`, and its SQL. */
export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  /** As Prisma computes it: the SHA-256 of the file's bytes, in hex. */
  readonly checksum: string;
}

/** `prisma/migrations` of this package, found the same way from `src/` and from `dist/`. */
export const MIGRATIONS_DIR = resolve(__dirname, '..', '..', '..', '..', 'prisma', 'migrations');

/** The committed migrations in the order Prisma applies them: by folder name. */
export function readMigrationFiles(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((entry) => statSync(join(dir, entry)).isDirectory())
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    });
}
