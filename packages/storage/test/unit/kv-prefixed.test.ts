import { describe, expect, it } from 'vitest';
import { createMemoryKvStore, openLevelKvStore, prefixedKvStore } from '../../src/index.js';
import { runKvComplianceSuite } from '../kv-compliance.js';
import { tempDir } from '../temp-dir.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

runKvComplianceSuite('prefixed view over level', async () => {
  const dir = await tempDir('kv-prefixed');
  const parent = await openLevelKvStore(dir.path);
  // Neighbours on both sides of the prefix must stay invisible to the view.
  await parent.put(b(0x41, 0xff), b(1));
  await parent.put(b(0x43), b(1));
  const store = prefixedKvStore(parent, b(0x42));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await parent.close();
      await dir.remove();
    },
  };
});

runKvComplianceSuite('prefixed view over memory-level with an 0xff prefix', async () => {
  const parent = await createMemoryKvStore();
  await parent.put(b(0xfe, 0xff), b(1));
  const store = prefixedKvStore(parent, b(0xff, 0xff));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await parent.close();
    },
  };
});

describe('prefixedKvStore', () => {
  it('keeps its keys under the prefix and leaves other keys alone', async () => {
    const parent = await createMemoryKvStore();
    await parent.put(b(1, 5), b(0));
    await parent.put(b(3), b(0));
    const view = prefixedKvStore(parent, b(2));
    await view.put(b(5), b(55));
    await view.batch([{ type: 'put', key: b(6), value: b(66) }]);
    expect((await parent.entries()).map((e) => Array.from(e.key))).toEqual([[1, 5], [2, 5], [2, 6], [3]]);
    expect((await view.entries()).map((e) => Array.from(e.key))).toEqual([[5], [6]]);
    expect(view.batchOps([{ type: 'del', key: b(5) }])).toEqual([{ type: 'del', key: b(2, 5) }]);
    await view.close();
    expect(await parent.get(b(2, 5))).toEqual(b(55));
    await parent.close();
  });
});
