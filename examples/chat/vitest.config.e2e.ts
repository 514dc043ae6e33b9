import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: true,
    root: './',
    include: ['test/**/*.e2e-spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Starting Postgres and the app takes a few seconds on a small machine.
    hookTimeout: 60_000,
    testTimeout: 20_000,
  },
});
