import { blockHash, encodeBlock, encodeCommit, isSynodError } from '@synod/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockStore, KEY_PREFIX } from '../../src/index.js';
import { makeChain, makeCommit } from '../fixtures.js';
import { KV_KINDS, type OpenKv, RecordingKv } from '../kv-fixtures.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isSynodError(err) ? err.code : err === undefined ? undefined : 'NOT_A_SYNOD_ERROR';
}

const prefixCount = async (db: OpenKv, prefix: number): Promise<number> =>
  (await db.kv.entries({ gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) })).length;

for (const [kind, open] of KV_KINDS) {
  describe(`BlockStore on ${kind}`, () => {
    let db: OpenKv;
    beforeEach(async () => {
      db = await open();
    });
    afterEach(async () => {
      await db.cleanup();
    });

    it('starts empty', async () => {
      const store = await BlockStore.open(db.kv);
      expect([store.base(), store.height()]).toEqual([0, 0]);
      expect(await store.loadBlock(1)).toBeUndefined();
      expect(await store.loadSeenCommit()).toBeUndefined();
      expect(await store.loadCommit(1)).toBeUndefined();
    });

    it('saves blocks and reads them back by height and hash, with headers and commits', async () => {
      const store = await BlockStore.open(db.kv);
      const chain = makeChain(1, 10);
      for (const { block, seenCommit } of chain) await store.saveBlock(block, seenCommit);
      expect([store.base(), store.height()]).toEqual([1, 10]);
      const reopened = await BlockStore.open(await db.reopen());
      expect([reopened.base(), reopened.height()]).toEqual([1, 10]);
      for (const [i, { block }] of chain.entries()) {
        const h = i + 1;
        expect(await reopened.loadBlock(h)).toEqual(block);
        expect(await reopened.loadHeader(h)).toEqual(block.header);
        expect(await reopened.loadBlockByHash(blockHash(block))).toEqual(block);
        expect(await reopened.heightOfHash(blockHash(block))).toBe(h);
        const commit = await reopened.loadCommit(h);
        expect(commit).toEqual(h < 10 ? chain[h]?.block.lastCommit : chain[9]?.seenCommit);
      }
      expect(await reopened.loadSeenCommit()).toEqual(chain[9]?.seenCommit);
      expect(await reopened.loadBlock(11)).toBeUndefined();
      expect(await reopened.loadBlockByHash(new Uint8Array(32))).toBeUndefined();
      expect((await reopened.loadBlockBytes(3))?.length).toBeGreaterThan(100);
    });

    it('reads a block and its commit as stored bytes (for serving block sync without decoding)', async () => {
      const store = await BlockStore.open(db.kv);
      const chain = makeChain(1, 5);
      for (const { block, seenCommit } of chain) await store.saveBlock(block, seenCommit);
      for (const [i, { block }] of chain.entries()) {
        const h = i + 1;
        expect(await store.loadBlockBytes(h)).toEqual(encodeBlock(block));
        // the canonical commit (the next block's lastCommit), or the seen commit for the latest block
        const commit = h < 5 ? chain[h]?.block.lastCommit : chain[4]?.seenCommit;
        expect(await store.loadCommitBytes(h)).toEqual(
          commit === undefined ? undefined : encodeCommit(commit),
        );
      }
      expect(await store.loadCommitBytes(6)).toBeUndefined();
      expect(await store.loadCommitBytes(0)).toBeUndefined();
      expect(await store.loadBlockBytes(6)).toBeUndefined();
      await store.pruneBlocks(3);
      expect(await store.loadBlockBytes(2)).toBeUndefined();
      expect(await store.loadCommitBytes(1)).toBeUndefined();
      expect(await store.loadCommitBytes(3)).toEqual(encodeCommit(chain[3]!.block.lastCommit));
    });

    it('writes a block and everything that belongs with it in one batch', async () => {
      const recording = new RecordingKv(db.kv);
      const store = await BlockStore.open(recording);
      const before = recording.batches + recording.singleWrites;
      for (const { block, seenCommit } of makeChain(1, 3)) await store.saveBlock(block, seenCommit);
      expect(recording.batches + recording.singleWrites - before).toBe(3);
      expect(recording.singleWrites).toBe(1); // only the schema version, written at open
    });

    it('a failed save changes nothing', async () => {
      const recording = new RecordingKv(db.kv);
      const store = await BlockStore.open(recording);
      const chain = makeChain(1, 2);
      await store.saveBlock(chain[0]!.block, chain[0]!.seenCommit);
      recording.failWrites = true;
      expect(await codeOf(store.saveBlock(chain[1]!.block, chain[1]!.seenCommit))).toBe('NOT_A_SYNOD_ERROR');
      expect(store.height()).toBe(1);
      expect(await store.loadBlock(2)).toBeUndefined();
      expect(await store.heightOfHash(blockHash(chain[1]!.block))).toBeUndefined();
      recording.failWrites = false;
      await store.saveBlock(chain[1]!.block, chain[1]!.seenCommit);
      expect(store.height()).toBe(2);
    });

    it('refuses a gap or a commit for another block', async () => {
      const store = await BlockStore.open(db.kv);
      const chain = makeChain(1, 3);
      await store.saveBlock(chain[0]!.block, chain[0]!.seenCommit);
      expect(await codeOf(store.saveBlock(chain[2]!.block, chain[2]!.seenCommit))).toBe('BLOCK_INVALID');
      expect(await codeOf(store.saveBlock(chain[1]!.block, chain[2]!.seenCommit))).toBe('COMMIT_INVALID');
      expect(await codeOf(store.saveBlock(chain[1]!.block, makeCommit(2, new Uint8Array(32))))).toBe(
        'COMMIT_INVALID',
      );
      expect(store.height()).toBe(1);
    });

    it('an empty store can start at any height (a node that joined later)', async () => {
      const store = await BlockStore.open(db.kv);
      const [first] = makeChain(500, 1);
      await store.saveBlock(first!.block, first!.seenCommit);
      expect([store.base(), store.height()]).toEqual([500, 500]);
      expect(await store.loadBlock(499)).toBeUndefined();
    });

    it('prunes below a retain height in batches and keeps the rest', async () => {
      const store = await BlockStore.open(db.kv, { pruneBatchBlocks: 7 });
      const chain = makeChain(1, 50);
      for (const { block, seenCommit } of chain) await store.saveBlock(block, seenCommit);
      expect(await store.pruneBlocks(1)).toEqual({ pruned: 0, base: 1 });
      expect(await store.pruneBlocks(30)).toEqual({ pruned: 29, base: 30 });
      expect(await store.loadBlock(29)).toBeUndefined();
      expect(await store.loadBlockByHash(blockHash(chain[4]!.block))).toBeUndefined();
      expect(await store.loadBlock(30)).toEqual(chain[29]?.block);
      expect(await store.loadCommit(30)).toEqual(chain[30]?.block.lastCommit);
      expect(await prefixCount(db, KEY_PREFIX.block)).toBe(21);
      expect(await prefixCount(db, KEY_PREFIX.header)).toBe(21);
      expect(await prefixCount(db, KEY_PREFIX.blockHash)).toBe(21);
      expect(await prefixCount(db, KEY_PREFIX.commit)).toBe(20); // heights 30..49
      const reopened = await BlockStore.open(await db.reopen());
      expect([reopened.base(), reopened.height()]).toEqual([30, 50]);
      expect(await codeOf(reopened.pruneBlocks(51))).toBe('CONFIG_INVALID');
      expect(await reopened.pruneBlocks(50)).toEqual({ pruned: 20, base: 50 });
      expect(await reopened.loadBlock(50)).toEqual(chain[49]?.block);
      const [next] = makeChain(51, 1, {}, chain[49]!.block);
      await reopened.saveBlock(next!.block, next!.seenCommit);
      expect(reopened.height()).toBe(51);
    });

    it('reports disk usage that falls after pruning and compaction', async () => {
      const store = await BlockStore.open(db.kv);
      for (const { block, seenCommit } of makeChain(1, 120, { txsPerBlock: 20, txBytes: 250 })) {
        await store.saveBlock(block, seenCommit);
      }
      await db.kv.compact();
      const before = await store.diskUsage();
      expect(before).toBeGreaterThan(120 * 20 * 250 * 0.8);
      await store.pruneBlocks(110);
      const after = await store.diskUsage();
      expect(after).toBeLessThan(before / 4);
      expect(after).toBeGreaterThan(0);
    });

    it('stored bytes that do not decode are STORAGE_CORRUPT, not a crash', async () => {
      const store = await BlockStore.open(db.kv);
      const [one] = makeChain(1, 1);
      await store.saveBlock(one!.block, one!.seenCommit);
      const blockKey = Uint8Array.of(KEY_PREFIX.block, 0, 0, 0, 0, 0, 0, 0, 1);
      await db.kv.put(blockKey, Uint8Array.of(1, 2, 3));
      expect(await codeOf(store.loadBlock(1))).toBe('STORAGE_CORRUPT');
      await db.kv.put(Uint8Array.of(KEY_PREFIX.blockStoreMeta), Uint8Array.of(1));
      expect(await codeOf(BlockStore.open(db.kv))).toBe('STORAGE_CORRUPT');
    });

    it('refuses a database written with another schema version', async () => {
      await BlockStore.open(db.kv);
      const schemaKey = Uint8Array.from([0, ...new TextEncoder().encode('schema')]);
      await db.kv.put(schemaKey, Uint8Array.of(0, 0, 0, 99));
      const err = await BlockStore.open(db.kv).catch((e: unknown) => e);
      expect(isSynodError(err, 'STORAGE_CORRUPT')).toBe(true);
      expect((err as Error).message).toContain('version 99');
    });
  });
}
