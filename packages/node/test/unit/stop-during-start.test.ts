/**
 * `stop()` while `start()` runs (a host stopping on a signal during block sync
 * or the handshake's replay): the start ends at the next block boundary, both
 * resolve, the blocks executed so far stay stored, no engine is started, and
 * the next start resumes from the last stored block.
 */
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, type NodeStorage } from '@synod/storage';
import { blockHash, noopLogger } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  type BlockWithCommit,
  createNode,
  handshake,
  MemoryNetwork,
  type SyncProgressEvent,
} from '../../src/index.js';
import {
  ACCOUNTS,
  heightReached,
  recordingLogger,
  testGenesis,
  transfer,
  validatorNode,
  wallClock,
} from '../fixtures.js';

const genesis = testGenesis(1);

/** Blocks 1..n (with commits) of a one-validator chain. */
async function chainOf(n: number): Promise<BlockWithCommit[]> {
  const source = await validatorNode(new MemoryNetwork(), 0, genesis);
  await source.node.start();
  await source.node.broadcastTx(transfer(ACCOUNTS[1]!, 0));
  await heightReached(source.node, n);
  await source.node.stop();
  const out: BlockWithCommit[] = [];
  for (let h = 1; h <= n; h++)
    out.push({
      block: (await source.storage.blocks.loadBlock(h))!,
      commit: (await source.storage.blocks.loadCommit(h))!,
    });
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with `p`'s outcome, or 'timed out' after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([p, sleep(ms).then(() => 'timed out' as const)]);
}

/**
 * A peer that always says it is far ahead (a chain that keeps growing) and
 * serves the blocks it has, `delayMs` per request; past them its requests
 * never answer (a peer gone silent mid-request).
 */
function endlessPeer(network: MemoryNetwork, id: string, chain: readonly BlockWithCommit[], delayMs: number) {
  const served = { ranges: 0 };
  network.transport(id).serve({
    status: () => ({ height: chain.length + 1000, lastBlockHash: new Uint8Array(32), earliestHeight: 1 }),
    blockByHash: () => undefined,
    blockRange: async (from, to) => {
      served.ranges++;
      if (from > chain.length) return new Promise<never>(() => {});
      await sleep(delayMs);
      return chain.slice(from - 1, Math.min(to, chain.length));
    },
    consensus: () => ({ proposals: [], votes: [] }),
  });
  return served;
}

function follower(network: MemoryNetwork, storage: NodeStorage, logger = recordingLogger()) {
  return Ledger.open({ kv: storage.state.appState }).then((application) => ({
    logger,
    node: createNode(
      { storage, application, transport: network.transport('f'), clock: wallClock, signer: null, logger },
      { genesis, syncBatchBlocks: 2, syncParallelRequests: 2, livenessIntervalMs: 0 },
    ),
  }));
}

describe('node: stop during start', () => {
  it('a stop during block sync from a peer that keeps serving ends the start at a block: both resolve, blocks kept, no engine; the next start resumes', async () => {
    const chain = await chainOf(24);
    const network = new MemoryNetwork();
    endlessPeer(network, 'p', chain, 20);
    const storage = await createMemoryNodeStorage();
    const { node, logger } = await follower(network, storage);
    const progress: SyncProgressEvent[] = [];
    node.on('sync', (e) => progress.push(e));
    const starting = node.start();
    await heightReached(node, 4);
    expect(node.status().state).toBe('syncing');
    const stopped = node.stop();
    expect(await within(stopped, 10_000)).toBeUndefined();
    expect(await within(starting, 10_000)).toBeUndefined();
    expect(node.status().state).toBe('stopped');
    // Stopped at a block boundary: every block synced is stored and executed, the sync did not finish.
    const height = node.status().height;
    expect(height).toBeGreaterThanOrEqual(4);
    expect(height).toBeLessThan(chain.length);
    expect(storage.blocks.height()).toBe(height);
    expect((await storage.state.loadStateInfo())?.height).toBe(height);
    expect(progress.some((e) => e.done)).toBe(false);
    // No engine was started, and the start says it was stopped.
    expect(logger.lines.some((l) => l.msg === 'node started')).toBe(false);
    expect(logger.lines.some((l) => l.msg === 'node start stopped')).toBe(true);
    await sleep(100);
    expect(node.status().height).toBe(height);

    // The next start resumes from the last stored block (the chain now fully served: the sync ends).
    const network2 = new MemoryNetwork();
    network2.transport('q').serve({
      status: () => ({ height: chain.length, lastBlockHash: new Uint8Array(32), earliestHeight: 1 }),
      blockByHash: () => undefined,
      blockRange: async (from, to) => chain.slice(from - 1, Math.min(to, chain.length)),
      consensus: () => ({ proposals: [], votes: [] }),
    });
    const again = await follower(network2, storage);
    const resumed: SyncProgressEvent[] = [];
    again.node.on('sync', (e) => resumed.push(e));
    await again.node.start();
    expect(resumed[0]?.from).toBe(height + 1);
    expect(again.node.status().height).toBe(chain.length);
    for (let h = 1; h <= chain.length; h++) {
      const b = await storage.blocks.loadBlock(h);
      expect(b && blockHash(b)).toEqual(blockHash(chain[h - 1]!.block));
    }
    await again.node.stop();
  }, 60_000);

  it('a stop while a range request is unanswered does not wait for the peer', async () => {
    const chain = await chainOf(6);
    const network = new MemoryNetwork();
    const served = endlessPeer(network, 'p', chain, 0);
    const storage = await createMemoryNodeStorage();
    const { node } = await follower(network, storage);
    const starting = node.start();
    await heightReached(node, chain.length);
    // Ranges 1-2, 3-4, 5-6 answered; 7-8 and 9-10 asked (9-10 as the sync goes on to wait for 7-8): never answered.
    while (served.ranges < 5) await sleep(10);
    expect(await within(node.stop(), 10_000)).toBeUndefined();
    expect(await within(starting, 10_000)).toBeUndefined();
    expect(node.status().state).toBe('stopped');
    expect(storage.blocks.height()).toBe(chain.length);
  }, 60_000);

  it('a stop during the handshake replay ends it at a block; the next handshake replays the rest', async () => {
    const chain = await chainOf(6);
    const storage = await createMemoryNodeStorage();
    for (const { block, commit } of chain) await storage.blocks.saveBlock(block, commit);
    const application = await Ledger.open({ kv: storage.state.appState });
    let asked = 0;
    const first = await handshake({
      application,
      storage,
      genesis,
      blockTimesCacheHeights: 10,
      logger: noopLogger,
      shouldStop: () => ++asked > 3,
    });
    expect(first.replayed).toBe(3);
    expect((await application.info()).lastBlockHeight).toBe(3);
    const second = await handshake({
      application,
      storage,
      genesis,
      blockTimesCacheHeights: 10,
      logger: noopLogger,
    });
    expect(second.replayed).toBe(3);
    expect(second.chain.height).toBe(6);
  }, 60_000);

  it('a node stopped as its start begins replays nothing, starts no engine, and its next start replays the blocks', async () => {
    const chain = await chainOf(5);
    const storage = await createMemoryNodeStorage();
    for (const { block, commit } of chain) await storage.blocks.saveBlock(block, commit);
    const { node, logger } = await follower(new MemoryNetwork(), storage);
    const starting = node.start();
    const stopped = node.stop();
    expect(await within(starting, 10_000)).toBeUndefined();
    expect(await within(stopped, 10_000)).toBeUndefined();
    expect(node.status().state).toBe('stopped');
    expect(node.status().height).toBe(0);
    expect(logger.lines.some((l) => l.msg === 'node started')).toBe(false);
    const again = await follower(new MemoryNetwork(), storage);
    await again.node.start();
    expect(again.node.status().height).toBe(chain.length);
    expect(again.node.status().state).toBe('running');
    await again.node.stop();
  }, 60_000);
});
