import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Shared vitest settings for every workspace package.
// - The `source` export condition makes `@synod/*` imports resolve to each
//   package's TypeScript sources, so `pnpm --filter <pkg> test` works without
//   building its dependencies first.
// - The Node 20 polyfill module is loaded before every test file.
const polyfill = fileURLToPath(new URL('./packages/polyfills/src/index.ts', import.meta.url));

export default defineConfig({
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
