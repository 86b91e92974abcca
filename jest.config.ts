/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

// ESM all the way: got, kysely 0.29 and cockatiel 4 cannot be loaded by jest in CommonJS mode.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  testTimeout: 30_000,
  collectCoverageFrom: ['src/**/*.ts', 'machines/**/*.ts', '!src/main.ts', '!src/worker-main.ts', '!src/**/*.d.ts'],
  coverageThreshold: { global: { lines: 80 } },
  coverageReporters: ['text-summary', 'lcov'],
};
export default config;
