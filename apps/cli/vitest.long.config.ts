import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// test/long: end-to-end runs of several minutes with real processes (`pnpm test:long`), outside `pnpm test`.
const config = mergeConfig(
  shared,
  defineConfig({
    test: {
      globalSetup: ['./test/global-setup.ts'],
      fileParallelism: false,
      testTimeout: 600_000,
    },
  }),
);
// Only test/long (mergeConfig would append to the shared `include`).
config.test = { ...config.test, include: ['test/long/**/*.test.ts'] };
export default config;
