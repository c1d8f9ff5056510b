import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// The e2e tests spawn the built binaries (dist/cli.js here and synodd's): globalSetup builds them first
// (tsc -b, incremental).
export default mergeConfig(
  shared,
  defineConfig({
    test: {
      globalSetup: ['./test/global-setup.ts'],
      // Each e2e file runs real processes on 127.0.0.1; one file at a time on 2 cores.
      fileParallelism: false,
      // test/long: minutes-long runs, behind `test:long` (vitest.long.config.ts).
      exclude: ['test/long/**', '**/node_modules/**'],
    },
  }),
);
