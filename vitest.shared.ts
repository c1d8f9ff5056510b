import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig, type UserConfig } from 'vitest/config';

// Shared vitest settings for every workspace package.
// - The `source` export condition makes `@synod/*` imports resolve to each
//   package's TypeScript sources, so `pnpm --filter <pkg> test` works without
//   building its dependencies first.
// - The Node 20 polyfill module is loaded before every test file.
const polyfill = fileURLToPath(new URL('./packages/polyfills/src/index.ts', import.meta.url));

const shared = defineConfig({
  resolve: { conditions: ['source', 'import', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['source', 'import', 'module', 'node', 'default'] } },
  test: {
    setupFiles: [polyfill],
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

export default shared;

/**
 * The config of a package's long runs (test/long: end-to-end runs of several minutes with real
 * processes, `pnpm test:long`, outside `pnpm test`): the shared settings, the package's
 * test/global-setup.ts, one file at a time, 10 minutes per test.
 */
export function longTestsConfig(): UserConfig {
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
  return config;
}
