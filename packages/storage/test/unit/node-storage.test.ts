import { readdir, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  BlockStore,
  createMemoryKvStore,
  createMemoryNodeStorage,
  openNodeStorage,
  storagePaths,
} from '../../src/index.js';
import { makeChain } from '../fixtures.js';
import { tempDir } from '../temp-dir.js';

describe('openNodeStorage', () => {
  it('lays out the data folder, reports disk usage per store and reopens', async () => {
    const dir = await tempDir('node-storage');
    try {
      const storage = await openNodeStorage({ dataDir: dir.path });
      const chain = makeChain(1, 30, { txsPerBlock: 50, txBytes: 250 });
      for (const { block, seenCommit } of chain) await storage.blocks.saveBlock(block, seenCommit);
      await storage.wal.append(new Uint8Array(100), { sync: true });
      await storage.signerState.save({
        height: 1,
        round: 0,
        step: 'prevote',
        signBytes: new Uint8Array(3),
        signature: new Uint8Array(64),
      });
      await storage.kv.compact();
      const usage = await storage.diskUsage();
      expect(usage.blocks).toBeGreaterThan(30 * 50 * 250 * 0.8);
      expect(usage.wal).toBeGreaterThan(100);
      expect(usage.database).toBeGreaterThanOrEqual(usage.blocks);
      expect(usage.total).toBe(usage.database + usage.wal);
      await storage.close();
      expect((await readdir(dir.path)).sort()).toEqual(['db', 'signer-state.json', 'wal']);
      expect((await stat(storagePaths(dir.path).signerState)).isFile()).toBe(true);
      const again = await openNodeStorage({ dataDir: dir.path });
      expect(again.blocks.height()).toBe(30);
      expect((await again.wal.recordsAfterEndHeight(0))?.length).toBe(1);
      expect((await again.signerState.load())?.height).toBe(1);
      await again.close();
    } finally {
      await dir.remove();
    }
  });

  it('has an in-memory twin with the same stores', async () => {
    const storage = await createMemoryNodeStorage();
    const [first] = makeChain(1, 1);
    await storage.blocks.saveBlock(first!.block, first!.seenCommit);
    await storage.wal.append(new Uint8Array(3));
    expect(await storage.blocks.loadBlock(1)).toEqual(first!.block);
    const usage = await storage.diskUsage();
    expect(usage.blocks).toBeGreaterThan(0);
    expect(usage.wal).toBe(0);
    await storage.close();
  });
});

describe('schema check', () => {
  it('refuses a database that has data but is not a Synod database', async () => {
    const kv = await createMemoryKvStore();
    await kv.put(new TextEncoder().encode('someone else'), Uint8Array.of(1));
    const err = await BlockStore.open(kv).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('STORAGE_CORRUPT');
    expect((err as Error).message).toContain('not a Synod database');
    await kv.close();
  });
});
