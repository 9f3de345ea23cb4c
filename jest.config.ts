import type { Config } from 'jest';

// ts-jest in ESM mode: run with NODE_OPTIONS=--experimental-vm-modules (see package.json "test").
// Type-checking is done by `tsc --noEmit` (npm run typecheck), not by ts-jest, to keep tests fast.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/chaos/', '/test/sim/'],
  // Integration tests spawn processes and talk to real servers; two cores here.
  maxWorkers: 2,
  testTimeout: 30_000,
};

export default config;
