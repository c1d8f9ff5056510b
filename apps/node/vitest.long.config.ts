import { longTestsConfig } from '../../vitest.shared.js';

// test/long: end-to-end runs of several minutes with real processes (`pnpm test:long`), outside `pnpm test`.
export default longTestsConfig();
