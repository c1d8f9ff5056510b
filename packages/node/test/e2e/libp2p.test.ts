/**
 * Four validators, each `createNode` over its own libp2p `Network` on
 * 127.0.0.1 (through @synod/p2p's `nodeTransport`), memory storage and the
 * ledger: they connect, commit blocks, one of them carrying a signed
 * transfer submitted on one node, and agree on every block; transactions
 * submitted on one node travel to the others in batches and are committed.
 */
import '@synod/polyfills';
import { createVerifyCache, type KeyPair, type VerifyCache } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createNetwork, type Network, nodeTransport, type ValidationContext } from '@synod/p2p';
import { createMemoryNodeStorage, createSigner, type NodeStorage } from '@synod/storage';
import {
  blockHash,
  bytesEqual,
  type Counter,
  type Genesis,
  type Labels,
  type Metrics,
  noopMetrics,
} from '@synod/types';
import { afterAll, describe, expect, it } from 'vitest';
import { createNode, type NodeTransport, type SynodNode } from '../../src/index.js';
import {
  ACCOUNTS,
  address,
  heightReached,
  testGenesis,
  transfer,
  VALIDATORS,
  wallClock,
} from '../fixtures.js';

const loopbackOnly = (a: string): boolean => a.startsWith('/ip4/127.0.0.1/');

/** Polls `cond` every 20 ms until it holds (throws after `ms`). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Before the node starts, the network knows only the chain id: it validates
 * nothing (every set is unknown). At start the node attaches its view
 * (`attachValidation`): heights, rounds, sets, proposers, evidence chain and
 * its verifier.
 */
function beforeStart(chainId: string): ValidationContext {
  return {
    chainId,
    currentHeight: () => 1,
    validatorSetAt: () => undefined,
    proposerIndex: () => undefined,
  };
}

/** Counters of the network's metrics, summed per name and label set (the rest dropped). */
class CounterTotals implements Metrics {
  readonly values = new Map<string, number>();
  counter(opts: { readonly name: string }): Counter {
    return {
      inc: (labels?: Labels, value = 1) => {
        const k = `${opts.name}${JSON.stringify(labels ?? {})}`;
        this.values.set(k, (this.values.get(k) ?? 0) + value);
      },
    };
  }
  gauge = noopMetrics.gauge;
  histogram = noopMetrics.histogram;
  get(name: string, labels: Labels = {}): number {
    return this.values.get(`${name}${JSON.stringify(labels)}`) ?? 0;
  }
}

interface Validator {
  readonly network: Network;
  readonly node: SynodNode;
  readonly storage: NodeStorage;
  readonly verifier: VerifyCache;
  readonly metrics: CounterTotals;
}

/** Validator 1 publishes only full batches of 8 transactions (its window is 10 minutes). */
const BATCHING_NODE = 1;
const BATCH_TXS = 8;

async function validator(index: number, genesis: Genesis): Promise<Validator> {
  const storage = await createMemoryNodeStorage();
  // one verifier per node: gossip validation and the engine share its memory of checked signatures
  const verifier = createVerifyCache();
  const metrics = new CounterTotals();
  const network = await createNetwork({
    metrics,
    ...(index === BATCHING_NODE ? { txBatching: { windowMs: 600_000, maxTxs: BATCH_TXS } } : {}),
    chainId: genesis.chainId,
    nodeKey: { seed: new Uint8Array(32).fill(0x40 + index) },
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dialFilter: loopbackOnly,
    validation: beforeStart(genesis.chainId),
    consensusParams: genesis.consensusParams,
    peerManager: { allowPrivateAddresses: true, pingTimeoutMs: 5_000, dialTimeoutMs: 10_000 },
    mesh: { heartbeatIntervalMs: 200 },
  });
  // the compile-time check: the adapter is the node's transport port
  const transport: NodeTransport = nodeTransport(network);
  const key = VALIDATORS[index] as KeyPair;
  const node = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState }),
      transport,
      clock: wallClock,
      signer: await createSigner(key.seed, storage.signerState),
      verifySignature: verifier.verify,
    },
    { genesis },
  );
  return { network, node, storage, verifier, metrics };
}

describe('four validators over libp2p on 127.0.0.1', () => {
  const validators: Validator[] = [];

  afterAll(async () => {
    for (const v of validators) await v.node.stop();
    await Promise.all(validators.map((v) => v.network.stop()));
  });

  it('connect, commit a transfer submitted on one node, and agree on every block', async () => {
    const genesis = testGenesis(4, { commitMs: 50 });
    for (let i = 0; i < 4; i++) validators.push(await validator(i, genesis));
    const [v0, v1, v2, v3] = validators;
    if (v0 === undefined || v1 === undefined || v2 === undefined || v3 === undefined)
      throw new Error('setup');
    await Promise.all(validators.map((v) => v.network.start()));
    for (let i = 1; i < 4; i++)
      for (let j = 0; j < i; j++)
        await validators[i]?.network.dial(validators[j]?.network.addresses()[0] ?? '');
    await until(
      () => validators.every((v) => v.network.connectedPeers().length === 3),
      'every pair connected',
    );

    const startedAt = Date.now();
    let firstBlockAt: number | undefined;
    v0.node.on('block', () => {
      firstBlockAt ??= Date.now();
    });
    await Promise.all(validators.map((v) => v.node.start()));
    // the node's view is the network's validation context now, with the node's verifier
    expect(v0.network.validation.validatorSetAt(1)?.validators).toHaveLength(4);
    for (const v of validators) expect(v.node.status().peers).toBe(3);

    // a signed transfer, submitted on node 2: gossiped, proposed by whoever proposes, committed everywhere
    const tx = transfer(ACCOUNTS[0] as KeyPair, 0, ACCOUNTS[1], 1_000n);
    const committed = new Promise<number>((resolve) => {
      v3.node.on('block', (e) => {
        const i = e.block.txs.findIndex((t) => bytesEqual(t, tx));
        if (i >= 0) {
          expect(e.txResults[i]?.code).toBe('OK');
          resolve(e.height);
        }
      });
    });
    expect((await v2.node.broadcastTx(tx)).accepted).toBe(true);
    const txHeight = await committed;
    const top = Math.max(txHeight + 2, 8);
    await Promise.all(validators.map((v) => heightReached(v.node, top)));
    const elapsedMs = Date.now() - startedAt;

    // every node has the same block at every height
    for (let h = 1; h <= top; h++) {
      const hashes = await Promise.all(
        validators.map(async (v) => {
          const block = await v.storage.blocks.loadBlock(h);
          return block === undefined ? 'missing' : Buffer.from(blockHash(block)).toString('hex');
        }),
      );
      expect(new Set(hashes).size, `height ${h}: ${hashes.join(' ')}`).toBe(1);
      expect(hashes[0]).not.toBe('missing');
    }
    // the transfer took effect on every node
    for (const v of validators) {
      const account = await v.node.query({ path: 'account', data: address(ACCOUNTS[0] as KeyPair) });
      expect(new TextDecoder().decode(account.value)).toMatch(/"nonce":\s*1\b/);
    }
    // one verification per signature per node: the engine's checks of gossiped votes hit the memory
    for (const v of validators) expect(v.verifier.stats().hits).toBeGreaterThan(0);
    // the liveness protocol answers over the real transport: a decided height comes back with its commit
    const reply = await nodeTransport(v1.network).requestConsensus(v0.network.peerId, {
      height: txHeight,
      round: 0,
    });
    expect(reply.decided?.block.header.height).toBe(txHeight);
    expect(reply.decided?.block.txs.some((t) => bytesEqual(t, tx))).toBe(true);
    console.info(
      `4 validators over libp2p: first block after ${(firstBlockAt ?? Number.NaN) - startedAt} ms; ` +
        `tx committed at height ${txHeight}; height ${top} on every node after ${elapsedMs} ms`,
    );
  });

  it('transactions submitted on one node reach the other mempools in batches and are committed', async () => {
    const [v0, v1, v2, v3] = validators;
    if (v0 === undefined || v1 === undefined || v2 === undefined || v3 === undefined)
      throw new Error('needs the cluster of the test above');
    const others = [v0, v2, v3];
    const TXS = 'synod_p2p_tx_batch_txs_total';
    const BATCHES = 'synod_p2p_gossip_messages_total';
    const accepted = { topic: 'txs', action: 'accept', reason: 'OK' };
    const before = others.map((v) => ({
      txs: v.metrics.get(TXS, { direction: 'received' }),
      batches: v.metrics.get(BATCHES, accepted),
    }));
    // 16 transfers submitted on v1, one after the other: two full batches of 8 leave it
    const sender = ACCOUNTS[2] as KeyPair;
    const txs = Array.from({ length: 2 * BATCH_TXS }, (_, nonce) => transfer(sender, nonce, ACCOUNTS[1], 1n));
    for (const tx of txs) expect((await v1.node.broadcastTx(tx)).accepted).toBe(true);
    expect(v1.metrics.get('synod_p2p_published_total', { topic: 'txs' })).toBe(2);
    expect(v1.metrics.get(TXS, { direction: 'published' })).toBe(2 * BATCH_TXS);
    expect(v1.network.pendingTxs).toBe(0);
    // every other node validated two batch messages and handed their 16 transactions to its mempool
    await until(
      () =>
        others.every((v, i) => v.metrics.get(TXS, { direction: 'received' }) - (before[i]?.txs ?? 0) >= 16),
      'the 16 transactions delivered to every other node',
      30_000,
    );
    others.forEach((v, i) => {
      expect(v.metrics.get(TXS, { direction: 'received' }) - (before[i]?.txs ?? 0)).toBe(16);
      expect(v.metrics.get(BATCHES, accepted) - (before[i]?.batches ?? 0)).toBe(2);
    });
    // ...and committed: the sender's nonce is 16 on every node
    await until(
      () => validators.every((v) => v.node.unconfirmedTxs().length === 0),
      'every mempool emptied by blocks',
      60_000,
    );
    for (const v of validators) {
      const account = await v.node.query({ path: 'account', data: address(sender) });
      expect(new TextDecoder().decode(account.value)).toMatch(/"nonce":\s*16\b/);
    }
  });

  it('a node cut off from its peers catches up through the liveness protocol once reconnected', async () => {
    const [v0, v1, v2, v3] = validators;
    if (v0 === undefined || v1 === undefined || v2 === undefined || v3 === undefined)
      throw new Error('needs the cluster of the test above');
    // v3 cuts every connection (a partition: it bans its peers for a while); the other three go on.
    for (const v of [v0, v1, v2]) v3.network.ban(v.network.peerId, 'partition', 60_000);
    await until(() => v3.network.connectedPeers().length === 0, 'v3 isolated');
    const cut = v3.node.status().height;
    await Promise.all([v0, v1, v2].map((v) => heightReached(v.node, cut + 5)));
    expect(v3.node.status().height).toBeLessThanOrEqual(cut + 1);
    // The partition heals: gossip does not deliver what v3 missed; the liveness loop syncs it.
    for (const v of [v0, v1, v2]) v3.network.unban(v.network.peerId);
    for (const v of [v0, v1, v2]) await v3.network.dial(v.network.addresses()[0] ?? '');
    await until(() => v3.network.connectedPeers().length === 3, 'v3 reconnected');
    const target = v0.node.status().height;
    await heightReached(v3.node, target);
    // ...and it takes part again: with v2 stopped, no height is decided without v3.
    await v2.node.stop();
    const now = Math.max(v0.node.status().height, v3.node.status().height);
    await Promise.all([heightReached(v0.node, now + 3), heightReached(v3.node, now + 3)]);
    for (let h = 1; h <= now + 3; h++) {
      const a = await v0.storage.blocks.loadBlock(h);
      const b = await v3.storage.blocks.loadBlock(h);
      expect(a && b && bytesEqual(blockHash(a), blockHash(b)), `height ${h}`).toBe(true);
    }
  });
});
