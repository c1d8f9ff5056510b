import { readdir, readFile, writeFile } from 'node:fs/promises';
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
      expect(isSynodError(err, 'STORAGE_LOCKED')).toBe(true);
      expect(String((err as Error).message)).toMatch(/locked/);
      await a.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('openLevelKvStore on damaged files', () => {
  it('reports a damaged table as STORAGE_CORRUPT and a damaged CURRENT file as a typed error', async () => {
    const dir = await tempDir('kv-level-corrupt');
    try {
      const kv = await openLevelKvStore(dir.path);
      for (let i = 0; i < 500; i++) {
        await kv.put(Uint8Array.of(i >> 8, i & 0xff), new Uint8Array(1000).fill(i & 0xff));
      }
      await kv.compact();
      await kv.close();
      const tables = (await readdir(dir.path)).filter((f) => f.endsWith('.ldb'));
      expect(tables.length).toBeGreaterThan(0);
      for (const table of tables) {
        const bytes = await readFile(join(dir.path, table));
        for (let i = 100; i < bytes.length - 100; i += 50) bytes[i] = bytes[i]! ^ 0xff;
        await writeFile(join(dir.path, table), bytes);
      }
      const damaged = await openLevelKvStore(dir.path);
      const readErr = await damaged.entries().catch((e: unknown) => e);
      expect(isSynodError(readErr, 'STORAGE_CORRUPT')).toBe(true);
      const getErr = await damaged.get(Uint8Array.of(0, 5)).catch((e: unknown) => e);
      expect(isSynodError(getErr, 'STORAGE_CORRUPT')).toBe(true);
      await damaged.close();
      await writeFile(join(dir.path, 'CURRENT'), 'garbage\n');
      const openErr = await openLevelKvStore(dir.path).catch((e: unknown) => e);
      expect(isSynodError(openErr, 'STORAGE_IO')).toBe(true);
      expect((openErr as Error).message).toMatch(/open LevelDB at .*IO error/);
    } finally {
      await dir.remove();
    }
  });
});
