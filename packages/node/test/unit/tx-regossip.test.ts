/**
 * Gossip delivers a message once, to the peers of that moment: a transaction
 * a non-validator accepted while its gossip was lost would wait for ever in a
 * mempool that never proposes. `txRegossipHeights` sends it again.
 */
import { sha256, toHex } from '@synod/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork, type SynodNode } from '../../src/index.js';
import { ACCOUNTS, heightReached, testGenesis, transfer, validatorNode } from '../fixtures.js';

const running: SynodNode[] = [];
afterEach(async () => {
  for (const n of running.splice(0)) await n.stop();
});

/** Three validators (v0–v2) and v3, a node whose key is outside the genesis set; v3's first tx gossip is lost. */
async function network(txRegossipHeights: number) {
  let lost = 0;
  const net = new MemoryNetwork({
    drop: (from, _to, topic) => {
      if (from !== 'v3' || topic !== 'txs' || lost >= 3) return false;
      lost++; // the first publish, to each of the three validators
      return true;
    },
  });
  const genesis = testGenesis(3, { proposeMs: 200, prevoteMs: 100, precommitMs: 100 });
  const nodes: SynodNode[] = [];
  for (let i = 0; i < 4; i++) {
    const { node } = await validatorNode(net, i, genesis, undefined, { txRegossipHeights });
    nodes.push(node);
  }
  for (const n of nodes) {
    running.push(n);
    await n.start();
  }
  return nodes as [SynodNode, SynodNode, SynodNode, SynodNode];
}

/** The heights of `node`'s blocks from now up to `until` that hold `txHash`. */
function watch(node: SynodNode, txHash: string): { heights: number[] } {
  const seen = { heights: [] as number[] };
  node.on('block', (e) => {
    if (e.block.txs.some((tx) => toHex(sha256(tx)) === txHash)) seen.heights.push(e.height);
  });
  return seen;
}

/** v3 accepts a transfer whose first gossip is lost; then 10 heights pass at v0. */
async function submitLost(txRegossipHeights: number) {
  const [v0, , , v3] = await network(txRegossipHeights);
  await heightReached(v0, 2);
  const tx = transfer(ACCOUNTS[0]!, 0);
  const seen = watch(v0, toHex(sha256(tx)));
  expect((await v3.broadcastTx(tx)).accepted).toBe(true);
  // v3's mempool took it at this height or below: within two re-gossip periods of 3 heights (and
  // the blocks that take it) it is in a block.
  await heightReached(v0, v3.status().height + 10);
  return { v3, seen };
}

describe('node: transactions gossiped again', () => {
  it('a non-validator’s transaction whose gossip was lost is gossiped again and committed', async () => {
    const { seen } = await submitLost(3);
    expect(seen.heights.length).toBe(1);
  }, 60_000);

  it('with re-gossip off the same transaction is never proposed (what the test above relies on)', async () => {
    const { v3, seen } = await submitLost(0);
    expect(seen.heights).toEqual([]);
    expect(v3.unconfirmedTxs().length).toBe(1);
  }, 60_000);
});
