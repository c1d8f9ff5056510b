/**
 * One atomic batch per height (and per synced range), on real LevelDB files:
 * the chain state, the application's state, the evidence and what a `block`
 * listener writes (the RPC's index) go into the batch of the height; block
 * sync writes a fetched range with all of its records in one batch; `block`
 * is announced only once the batch is written; blocks the start handshake
 * executes again come as `block-write` so that their listener records are
 * written again, in the same batch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEY_PREFIX, type NodeStorage, openNodeStorage, prefixedKvStore } from '@synod/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { type BlockDecidedEvent, MemoryNetwork, type SynodNode } from '../../src/index.js';
import { ACCOUNTS, followerNode, heightReached, testGenesis, transfer, validatorNode } from '../fixtures.js';

const dirs: string[] = [];
const opened: NodeStorage[] = [];
async function levelStorage(): Promise<NodeStorage> {
  const dir = await mkdtemp(join(tmpdir(), 'synod-node-group-'));
  dirs.push(dir);
  const storage = await openNodeStorage({ dataDir: dir });
  opened.push(storage);
  return storage;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const u64 = (n: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};

/** What the RPC does: a record per block, written from `block-write` (synchronously started). */
function recordBlocks(node: SynodNode, storage: NodeStorage): number[] {
  const kv = prefixedKvStore(storage.kv, Uint8Array.of(KEY_PREFIX.rpc));
  const seen: number[] = [];
  node.on('block-write', (e: BlockDecidedEvent) => {
    seen.push(e.height);
    void kv.put(u64(e.height), e.appHash);
  });
  return seen;
}

/** The `block` events, each with how many group batches were written when it came. */
function announced(node: SynodNode, storage: NodeStorage): { height: number; batches: number }[] {
  const out: { height: number; batches: number }[] = [];
  node.on('block', (e) => out.push({ height: e.height, batches: storage.writeGroupStats().groupBatches }));
  return out;
}

async function recorded(storage: NodeStorage): Promise<number[]> {
  const kv = prefixedKvStore(storage.kv, Uint8Array.of(KEY_PREFIX.rpc));
  return (await kv.entries()).map((e) =>
    Number(new DataView(e.key.buffer, e.key.byteOffset, 8).getBigUint64(0)),
  );
}

describe('node: one batch per height on LevelDB', () => {
  it('consensus: the records of a height (state, app, listener) are one batch after the block', async () => {
    const genesis = testGenesis(1);
    const storage = await levelStorage();
    const { node } = await validatorNode(new MemoryNetwork(), 0, genesis, storage);
    const seen = recordBlocks(node, storage);
    const blocks = announced(node, storage);
    await node.start();
    await node.broadcastTx(transfer(ACCOUNTS[1]!, 0));
    await heightReached(node, 5);
    await node.stop();
    const h = storage.blocks.height();
    const stats = storage.writeGroupStats();
    // One group per decided height, each written as one batch holding the listener's record too.
    expect(stats.groups).toBe(h);
    expect(stats.groupBatches).toBe(h);
    expect(await recorded(storage)).toEqual(seen);
    expect(seen).toEqual(Array.from({ length: h }, (_, i) => i + 1));
    expect((await storage.state.loadStateInfo())?.height).toBe(h);
    // `block` is announced once the height's batch is written (the first height: after batch 1).
    expect(blocks.map((b) => b.height)).toEqual(seen);
    for (const b of blocks) expect(b.batches).toBeGreaterThanOrEqual(b.height);
  });

  it('block sync: a fetched range is written in one batch, listener records included', async () => {
    const genesis = testGenesis(1);
    const network = new MemoryNetwork();
    const leader = await validatorNode(network, 0, genesis);
    await leader.node.start();
    await leader.node.broadcastTx(transfer(ACCOUNTS[2]!, 0));
    await heightReached(leader.node, 40);
    await leader.node.stop();
    network.setConnected('v0', false);
    const top = leader.storage.blocks.height();
    const serving = network.transport('server');
    serving.serve({
      status: () => ({ height: top, lastBlockHash: new Uint8Array(32), earliestHeight: 1 }),
      blockByHash: () => undefined,
      blockRange: async (from, to) => {
        const out = [];
        for (let h = from; h <= Math.min(to, top); h++)
          out.push({
            block: (await leader.storage.blocks.loadBlock(h))!,
            commit: (await leader.storage.blocks.loadCommit(h))!,
          });
        return out;
      },
      consensus: () => ({ proposals: [], votes: [] }),
    });

    const { node: follower, storage } = await followerNode(network, 'f', genesis, {
      storage: await levelStorage(),
      init: { syncBatchBlocks: 8, livenessIntervalMs: 0 },
    });
    const seen = recordBlocks(follower, storage);
    const blocks = announced(follower, storage);
    await follower.start();
    await follower.stop();
    expect(storage.blocks.height()).toBe(top);
    expect((await storage.state.loadStateInfo())?.height).toBe(top);
    expect(seen).toEqual(Array.from({ length: top }, (_, i) => i + 1));
    expect(await recorded(storage)).toEqual(seen);
    // Ranges of 8 blocks: one batch each (not four per block).
    const stats = storage.writeGroupStats();
    expect(stats.groupBatches).toBe(Math.ceil(top / 8));
    expect(stats.groupBatches).toBeLessThan(top / 4);
    // Each block is announced only once its range is on disk.
    expect(blocks.map((b) => b.height)).toEqual(seen);
    for (const b of blocks) expect(b.batches).toBeGreaterThanOrEqual(Math.ceil(b.height / 8));
  });

  it('handshake replay: blocks saved without their height batch are executed again, their records written again', async () => {
    const genesis = testGenesis(1);
    const source = await validatorNode(new MemoryNetwork(), 0, genesis);
    await source.node.start();
    await source.node.broadcastTx(transfer(ACCOUNTS[1]!, 0));
    await heightReached(source.node, 4);
    await source.node.stop();
    const top = source.storage.blocks.height();

    // As after crashes between each block (saved by the engine) and its height's batch.
    const storage = await levelStorage();
    for (let h = 1; h <= top; h++)
      await storage.blocks.saveBlock(
        (await source.storage.blocks.loadBlock(h))!,
        (await source.storage.blocks.loadCommit(h))!,
      );
    const { node } = await validatorNode(new MemoryNetwork(), 0, genesis, storage, { syncLagHeights: 0 });
    const replayed = recordBlocks(node, storage);
    const blocks = announced(node, storage);
    const before = storage.writeGroupStats().groupBatches;
    await node.start();
    await node.stop();
    // Written again (block-write), not announced again (block): they were announced before the crash.
    expect(replayed.slice(0, top)).toEqual(Array.from({ length: top }, (_, i) => i + 1));
    expect(blocks.every((b) => b.height > top)).toBe(true);
    // Each replayed block: its state, its application state and its listener record in one batch.
    expect(storage.writeGroupStats().groupBatches - before).toBeGreaterThanOrEqual(top);
    expect((await recorded(storage)).slice(0, top)).toEqual(replayed.slice(0, top));
    expect((await storage.state.loadStateInfo())?.height).toBeGreaterThanOrEqual(top);
  });
});
