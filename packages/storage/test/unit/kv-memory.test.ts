import { createMemoryKvStore } from '../../src/index.js';
import { runKvComplianceSuite } from '../kv-compliance.js';

runKvComplianceSuite('memory-level', async () => {
  const store = await createMemoryKvStore();
  return { store, cleanup: () => store.close() };
});
