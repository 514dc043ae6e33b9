import { defineConfig } from 'prisma/config';

// `prisma migrate deploy` applies prisma/migrations to the schema named in the
// URL, e.g. DATABASE_URL="postgresql://u:p@host/db?schema=eventstream".
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
