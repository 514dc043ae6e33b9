import { defineConfig } from 'prisma/config';

// For `prisma generate` (scripts/prisma-generate.mjs) and, where Prisma's CLI
// can download its schema engine, `prisma migrate deploy`.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
