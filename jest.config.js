/**
 * Two tiers. `unit`: no server of any kind, no build (ts-jest only), under a minute
 * (`npm run test:unit`). `integration`: the real dev server, databases, versitygw and
 * the built CLI. `npm test` runs both.
 * `--selectProjects` takes a list: put test paths before it
 * (`npx jest test/drill.test.ts --selectProjects integration`), or they are read as
 * project names and every test of the project runs.
 * @type {import('jest').Config}
 */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Prints the closing summary line once, whichever tiers ran.
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

module.exports = {
  testTimeout: 120000,
  verbose: true,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      // Workflows run on an in-process stand-in for the SDK (no server; see the file).
      moduleNameMapper: { '^@temporalio/workflow$': '<rootDir>/test/unit/support/workflow-runtime.ts' },
    },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/unit/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
