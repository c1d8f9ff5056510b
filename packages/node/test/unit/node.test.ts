import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, createSigner } from '@synod/storage';
import {
  type Block,
  blockHash,
  finalizeRequestFromBlock,
  isSynodError,
  noopLogger,
  resultsHash,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  type BlockDecidedEvent,
  createNode,
  handshake,
  initChainRequestFromGenesis,
  MemoryNetwork,
  type SyncProgressEvent,
} from '../../src/index.js';
import {
  ACCOUNTS,
  address,
  fixedClock,
  followerNode,
  heightReached,
  testGenesis,
  transfer,
  VALIDATORS,
  validatorNode,
} from '../fixtures.js';

describe('node: handshake and restart', () => {
  it('restarts over the same storage at the height after the last block, and goes on', async () => {
    const genesis = testGenesis(1);
    const network = new MemoryNetwork();
    const first = await validatorNode(network, 0, genesis);
    await first.node.start();
    expect((await first.node.broadcastTx(transfer(ACCOUNTS[0]!, 0))).accepted).toBe(true);
    await heightReached(first.node, 3);
    await first.node.stop();
    const stopped = first.node.status();
    expect(stopped.state).toBe('stopped');
    const height = first.storage.blocks.height();
    expect(height).toBeGreaterThanOrEqual(3);

    // A new incarnation (new application object, new node) over the same storage.
    network.setConnected('v0', false);
    const again = await validatorNode(new MemoryNetwork(), 0, genesis, first.storage);
    const decided: BlockDecidedEvent[] = [];
    again.node.on('block', (e) => decided.push(e));
    await again.node.start();
    const st = again.node.status();
    expect(st.height).toBe(height);
    expect(st.appHash).toBe(stopped.appHash);
    await heightReached(again.node, height + 2);
    await again.node.stop();
    // The first height it decided is the one after the stored top: none skipped, none twice.
    expect(decided[0]?.height).toBe(height + 1);
    // The transfer committed before the restart is still there: the sender's next nonce is 1.
    const account = await again.node.query({ path: 'account', data: address(ACCOUNTS[0]!) });
    expect(account.code).toBe('OK');
    expect(new TextDecoder().decode(account.value)).toMatch(/"nonce":\s*1\b/);
  });

  it("keeps the last block's results hash in the state store's state info, nowhere else", async () => {
    const genesis = testGenesis(1);
    const { node, storage } = await validatorNode(new MemoryNetwork(), 0, genesis);
    const results = new Map<number, Uint8Array>();
    node.on('block', (e) => results.set(e.height, resultsHash(e.txResults)));
    await node.start();
    await node.broadcastTx(transfer(ACCOUNTS[2]!, 0));
    await heightReached(node, 3);
    await node.stop();
    const info = await storage.state.loadStateInfo();
    expect(info?.height).toBe(node.status().height);
    expect(info?.lastResultsHash).toEqual(results.get(info!.height));
    // Block H + 1 (if stored) carries it; nothing is kept under an ad-hoc key of the state range.
    const next = await storage.blocks.loadHeader(info!.height + 1);
    if (next !== undefined) expect(next.lastResultsHash).toEqual(info?.lastResultsHash);
    expect(await storage.kv.entries({ gte: Uint8Array.of(0x24), lt: Uint8Array.of(0x30) })).toEqual([]);
  });

  it('replays stored blocks the application has not executed', async () => {
    const genesis = testGenesis(1);
    const source = await validatorNode(new MemoryNetwork(), 0, genesis);
    await source.node.start();
    await source.node.broadcastTx(transfer(ACCOUNTS[1]!, 0));
    await heightReached(source.node, 3);
    await source.node.stop();
    const top = source.storage.blocks.height();

    // A node that has the blocks (saved, as after a crash before executing them) but no state.
    const storage = await createMemoryNodeStorage();
    for (let h = 1; h <= top; h++) {
      const block = await source.storage.blocks.loadBlock(h);
      const commit = await source.storage.blocks.loadCommit(h);
      await storage.blocks.saveBlock(block!, commit!);
    }
    const application = await Ledger.open({ kv: storage.state.appState });
    const result = await handshake({
      application,
      storage,
      genesis,
      blockTimesCacheHeights: 10,
      logger: noopLogger,
    });
    expect(result.initialized).toBe(true);
    expect(result.replayed).toBe(top);
    expect(result.chain.height).toBe(top);
    expect(Buffer.from(result.chain.snapshot.appHash).toString('hex')).toBe(source.node.status().appHash);
    expect((await application.info()).lastBlockHeight).toBe(top);
  });
});

describe('node: handshake after a crash between the chain state and the application commit', () => {
  it('re-executes the block the chain state recorded and the application did not commit, to the recorded app hash', async () => {
    const genesis = testGenesis(1);
    const source = await validatorNode(new MemoryNetwork(), 0, genesis);
    await source.node.start();
    await source.node.broadcastTx(transfer(ACCOUNTS[1]!, 0));
    await heightReached(source.node, 3);
    await source.node.stop();
    const top = source.storage.blocks.height();
    const storage = await createMemoryNodeStorage();
    for (let h = 1; h <= top; h++) {
      const block = await source.storage.blocks.loadBlock(h);
      const commit = await source.storage.blocks.loadCommit(h);
      await storage.blocks.saveBlock(block!, commit!);
    }
    // The process dies in the application's commit of the top block: the chain state has recorded it.
    const ledger = await Ledger.open({ kv: storage.state.appState });
    let finalized = 0;
    const crashing = new Proxy(ledger, {
      get(target, prop) {
        if (prop === 'finalizeBlock')
          return async (req: Parameters<Ledger['finalizeBlock']>[0]) => {
            finalized = req.height;
            return target.finalizeBlock(req);
          };
        if (prop === 'commit')
          return async () => {
            if (finalized === top) throw new Error('power cut');
            return target.commit();
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await expect(
      handshake({ application: crashing, storage, genesis, blockTimesCacheHeights: 10, logger: noopLogger }),
    ).rejects.toThrow(/power cut/);
    expect((await storage.state.loadStateInfo())?.height).toBe(top);
    // The next start: a new application object over the same state, one block behind the chain state.
    const application = await Ledger.open({ kv: storage.state.appState });
    expect((await application.info()).lastBlockHeight).toBe(top - 1);
    const result = await handshake({
      application,
      storage,
      genesis,
      blockTimesCacheHeights: 10,
      logger: noopLogger,
    });
    expect(result.initialized).toBe(false);
    expect(result.replayed).toBe(1);
    expect((await application.info()).lastBlockHeight).toBe(top);
    expect(Buffer.from(result.chain.snapshot.appHash).toString('hex')).toBe(source.node.status().appHash);
  });
});

describe('node: handshake refuses diverged state', () => {
  /** Blocks 1..n (with commits) of a one-validator chain, and the genesis. */
  async function chainOf(n: number) {
    const genesis = testGenesis(1);
    const source = await validatorNode(new MemoryNetwork(), 0, genesis);
    await source.node.start();
    await source.node.broadcastTx(transfer(ACCOUNTS[1]!, 0));
    await heightReached(source.node, n);
    await source.node.stop();
    const blocks = [];
    for (let h = 1; h <= n; h++) {
      blocks.push({
        block: (await source.storage.blocks.loadBlock(h))!,
        commit: (await source.storage.blocks.loadCommit(h))!,
      });
    }
    return { genesis, blocks };
  }

  it('a stored block whose app hash differs from the state it builds on: STORAGE_CORRUPT, no further block run', async () => {
    const { genesis, blocks } = await chainOf(4);
    const storage = await createMemoryNodeStorage();
    for (const [i, { block, commit }] of blocks.entries()) {
      const tampered: Block =
        i === 2 ? { ...block, header: { ...block.header, appHash: new Uint8Array(32).fill(0xee) } } : block;
      // The store checks the commit names the block (not its signatures): a disk that diverged.
      await storage.blocks.saveBlock(tampered, { ...commit, blockHash: blockHash(tampered) });
    }
    const application = await Ledger.open({ kv: storage.state.appState });
    const err = await handshake({
      application,
      storage,
      genesis,
      blockTimesCacheHeights: 10,
      logger: noopLogger,
    }).catch((e: unknown) => e);
    expect(isSynodError(err, 'STORAGE_CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/block 3's app hash differs/);
    expect((await application.info()).lastBlockHeight).toBe(2); // stopped before the bad block
  });

  it('an application with state the node has no chain state for: STORAGE_CORRUPT', async () => {
    const { genesis, blocks } = await chainOf(2);
    const storage = await createMemoryNodeStorage();
    const application = await Ledger.open({ kv: storage.state.appState });
    await application.initChain(initChainRequestFromGenesis(genesis));
    await application.finalizeBlock(finalizeRequestFromBlock(blocks[0]!.block));
    await application.commit();
    await expect(
      handshake({ application, storage, genesis, blockTimesCacheHeights: 10, logger: noopLogger }),
    ).rejects.toThrow(/the application has state but the node has no chain state/);
  });
});

describe('node: block sync', () => {
  it('a node that starts late catches up from its peer, then follows consensus', async () => {
    // A validator alone decides; a follower (no signer) over the same network starts late.
    const genesis = testGenesis(1);
    const network = new MemoryNetwork();
    const leader = await validatorNode(network, 0, genesis);
    await leader.node.start();
    await leader.node.broadcastTx(transfer(ACCOUNTS[2]!, 0));
    await heightReached(leader.node, 6);

    const { node: follower, storage } = await followerNode(network, 'f', genesis);
    const progress: SyncProgressEvent[] = [];
    follower.on('sync', (e) => progress.push(e));
    await follower.start();
    expect(progress.at(-1)?.done).toBe(true);
    const synced = follower.status().height;
    expect(synced).toBeGreaterThanOrEqual(6);
    // Then it follows the leader through gossip (proposals and votes), block after block.
    await heightReached(follower, synced + 2);
    await leader.node.stop();
    await follower.stop();
    const l = leader.storage.blocks;
    for (let h = 1; h <= synced + 2; h++) {
      expect((await storage.blocks.loadBlock(h))?.header).toEqual((await l.loadBlock(h))?.header);
    }
  });
});

describe('node: block sync from several peers', () => {
  it('fetches ranges from every peer that has them, drops one serving forged commits, and catches up', async () => {
    const genesis = testGenesis(1);
    const network = new MemoryNetwork();
    const leader = await validatorNode(network, 0, genesis);
    await leader.node.start();
    await leader.node.broadcastTx(transfer(ACCOUNTS[2]!, 0));
    await heightReached(leader.node, 30);
    await leader.node.stop();
    network.setConnected('v0', false);
    const top = leader.storage.blocks.height();

    // Three peers with the chain: two honest copies and one whose commits carry forged signatures.
    const served = new Map<string, number>();
    const serve = (id: string, forge: boolean) => {
      const t = network.transport(id);
      t.serve({
        status: () => ({ height: top, lastBlockHash: new Uint8Array(32), earliestHeight: 1 }),
        blockByHash: () => undefined,
        blockRange: async (from, to) => {
          served.set(id, (served.get(id) ?? 0) + 1);
          const out = [];
          for (let h = from; h <= Math.min(to, top); h++) {
            const block = (await leader.storage.blocks.loadBlock(h))!;
            const commit = (await leader.storage.blocks.loadCommit(h))!;
            const signatures = forge
              ? commit.signatures.map((cs) => ({ ...cs, signature: new Uint8Array(64).fill(7) }))
              : commit.signatures;
            out.push({ block, commit: { ...commit, signatures } });
          }
          return out;
        },
        consensus: () => ({ proposals: [], votes: [] }),
      });
    };
    serve('evil', true);
    serve('copy-a', false);
    serve('copy-b', false);

    const { node: follower, storage } = await followerNode(network, 'f', genesis, {
      init: { syncBatchBlocks: 4, syncParallelRequests: 3, livenessIntervalMs: 0 },
    });
    const progress: SyncProgressEvent[] = [];
    follower.on('sync', (e) => progress.push(e));
    await follower.start();
    expect(follower.status().height).toBe(top);
    expect(progress.at(-1)).toMatchObject({ done: true, height: top });
    // Both honest peers served ranges; the forger was asked, then dropped (asked once).
    expect(served.get('copy-a')).toBeGreaterThan(1);
    expect(served.get('copy-b')).toBeGreaterThan(1);
    expect(served.get('evil')).toBe(1);
    for (let h = 1; h <= top; h++) {
      const a = await storage.blocks.loadBlock(h);
      const b = await leader.storage.blocks.loadBlock(h);
      expect(a && blockHash(a)).toEqual(b && blockHash(b));
    }
    await follower.stop();
  });
});

describe('node: the mempool as the RPC sees it', () => {
  it('lists pending transactions in proposal order and flushes them', async () => {
    // A clock whose timers never fire: after its first block the node waits for ever, txs stay pending.
    const genesis = testGenesis(1);
    const storage = await createMemoryNodeStorage();
    const node = createNode(
      {
        storage,
        application: await Ledger.open({ kv: storage.state.appState }),
        transport: new MemoryNetwork().transport('v0'),
        clock: fixedClock(genesis.genesisTimeMs + 60_000),
        signer: await createSigner(VALIDATORS[0]!.seed, storage.signerState),
      },
      { genesis, livenessIntervalMs: 0 },
    );
    await node.start();
    const txs = [transfer(ACCOUNTS[0]!, 0), transfer(ACCOUNTS[0]!, 1), transfer(ACCOUNTS[1]!, 0)];
    for (const tx of txs) expect((await node.broadcastTx(tx)).accepted).toBe(true);
    const pending = node.unconfirmedTxs();
    expect(pending).toHaveLength(3);
    expect(node.status().mempoolBytes).toBe(txs.reduce((n, tx) => n + tx.length, 0));
    // One sender's nonces in order.
    const a0 = pending.findIndex((p) => Buffer.from(p.tx).equals(Buffer.from(txs[0]!)));
    const a1 = pending.findIndex((p) => Buffer.from(p.tx).equals(Buffer.from(txs[1]!)));
    expect(a0).toBeLessThan(a1);
    expect(node.unconfirmedTxs(1)).toHaveLength(1);
    await node.flushMempool();
    expect(node.unconfirmedTxs()).toEqual([]);
    expect(node.status()).toMatchObject({ mempoolTxs: 0, mempoolBytes: 0 });
    await node.stop();
  });
});
