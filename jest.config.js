/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // Templates of the consumer suite: they run inside generated apps.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumer/'],
  transform: {
    // Tests only transpile (to CommonJS, which Jest's loader needs); types are
    // checked by `npm run typecheck`.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
  },
  // The browser client is written as ES modules, whose relative imports name
  // the emitted `.js` files; under Jest they resolve to the TypeScript sources.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // @fanoutio/grip is an ES module only: Jest's CommonJS loader needs it
  // transpiled (the build itself loads it with Node's require of ES modules).
  transformIgnorePatterns: ['/node_modules/(?!@fanoutio/grip/)'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
