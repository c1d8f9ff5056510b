/**
 * The synced writes of a decided height: the engine's block save is not
 * fsync'd on its own — the height's batch (chain state, application state,
 * evidence, listeners), synced and right after it in the same database, makes
 * it durable — and the WAL's end-of-height marker is not either (the next
 * height's first own record, synced, covers it). The database sees one synced
 * batch per height, the block's before it, and the WAL one fsync per own vote.
 */
import {
  createMemoryKvStore,
  KEY_PREFIX,
  type KvBatchOp,
  type KvStore,
  type KvWriteOptions,
  MemoryConsensusWal,
  MemorySignerStateStore,
  type NodeStorage,
  openStores,
} from '@synod/storage';
import { describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../../src/index.js';
import { heightReached, testGenesis, validatorNode } from '../fixtures.js';

interface Write {
  readonly sync: boolean;
  readonly prefixes: ReadonlySet<number>;
}

/** A memory database that records every write that reaches it (after the write groups). */
async function recordingStorage(): Promise<{
  storage: NodeStorage;
  writes: Write[];
  wal: MemoryConsensusWal;
}> {
  const inner = await createMemoryKvStore();
  const writes: Write[] = [];
  const record = (ops: readonly KvBatchOp[], options?: KvWriteOptions): void => {
    writes.push({ sync: options?.sync === true, prefixes: new Set(ops.map((op) => op.key[0] as number)) });
  };
  const database: KvStore = Object.assign(Object.create(inner) as KvStore, {
    kind: 'recording',
    put: (key: Uint8Array, value: Uint8Array, options?: KvWriteOptions) => {
      record([{ type: 'put', key, value }], options);
      return inner.put(key, value, options);
    },
    del: (key: Uint8Array, options?: KvWriteOptions) => {
      record([{ type: 'del', key }], options);
      return inner.del(key, options);
    },
    batch: (ops: readonly KvBatchOp[], options?: KvWriteOptions) => {
      record(ops, options);
      return inner.batch(ops, options);
    },
  });
  const stores = await openStores(database, { syncWrites: true });
  const wal = new MemoryConsensusWal();
  const storage: NodeStorage = {
    ...stores,
    wal,
    signerState: new MemorySignerStateStore(),
    walRecovery: undefined,
    diskUsage: async () => ({ blocks: 0, state: 0, evidence: 0, wal: 0, database: 0, total: 0 }),
    close: async () => {
      await wal.close();
      await stores.kv.close();
    },
  };
  return { storage, writes, wal };
}

describe('node: the fsyncs of a height', () => {
  it('the block save goes unsynced, and the synced batch of its height follows it', async () => {
    const { storage, writes, wal } = await recordingStorage();
    const { node } = await validatorNode(new MemoryNetwork(), 0, testGenesis(1), storage);
    await node.start();
    const from = writes.length;
    await heightReached(node, 6);
    await node.stop();
    const after = writes.slice(from);
    const saves = after.flatMap((w, i) => (w.prefixes.has(KEY_PREFIX.block) ? [i] : []));
    expect(saves.length).toBeGreaterThanOrEqual(5);
    for (const i of saves) {
      const save = after[i] as Write;
      const next = after[i + 1];
      expect(save.sync, `block save ${i}`).toBe(false);
      // The height's batch: the chain state and the application state, fsync'd.
      expect(next?.sync, `the batch after block save ${i}`).toBe(true);
      expect(next?.prefixes.has(KEY_PREFIX.stateInfo)).toBe(true);
      expect(next?.prefixes.has(KEY_PREFIX.appState)).toBe(true);
    }
    // Every synced database write is a height's batch: one per height.
    expect(after.filter((w) => w.sync).length).toBe(saves.length);
    // The WAL has every height's end marker (written unsynced; the stop flushed the WAL).
    const durable = wal.crash();
    for (let h = 1; h < storage.blocks.height(); h++)
      expect(await durable.recordsAfterEndHeight(h), `marker ${h}`).toBeDefined();
  });
});
