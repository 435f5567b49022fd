/** Jest runs in band (see package.json): Temporal workers and servers share two cores. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 120000,
  // test.concurrent (the crash and restore end-to-end files): at most three of a file's runs at once. Each has its
  // own fixture and mostly waits (heartbeat timeouts, polls, a worker's boot); more would fight for two cores.
  maxConcurrency: 3,
  // --shard splits by time (test/durations.json), so parallel shards end together.
  testSequencer: '<rootDir>/test/support/sequencer.js',
  // Reads `scripts/stack env --json` into process.env; fails with what to do when the stack is down.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};
