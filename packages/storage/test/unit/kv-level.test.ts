import { join } from 'node:path';
import { isSynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { openLevelKvStore } from '../../src/index.js';
import { runKvComplianceSuite } from '../kv-compliance.js';
import { tempDir } from '../temp-dir.js';

runKvComplianceSuite('level (LevelDB on disk)', async () => {
  const dir = await tempDir('kv-level');
  const store = await openLevelKvStore(join(dir.path, 'db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dir.remove();
    },
  };
});

describe('openLevelKvStore', () => {
  it('persists across close and reopen', async () => {
    const dir = await tempDir('kv-level-reopen');
    try {
      const path = join(dir.path, 'nested', 'db');
      const a = await openLevelKvStore(path);
      await a.put(Uint8Array.of(1), Uint8Array.of(2), { sync: true });
      await a.close();
      const b = await openLevelKvStore(path);
      expect(Array.from((await b.get(Uint8Array.of(1))) ?? [])).toEqual([2]);
      expect(b.kind).toBe('level');
      await b.close();
    } finally {
      await dir.remove();
    }
  });

  it('refuses a second open of the same folder with a typed error', async () => {
    const dir = await tempDir('kv-level-lock');
    try {
      const a = await openLevelKvStore(dir.path);
      const err = await openLevelKvStore(dir.path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSynodError(err)).toBe(true);
      expect(String((err as Error).message)).toMatch(/locked/);
      await a.close();
    } finally {
      await dir.remove();
    }
  });
});
