import type { ConflictingCommits } from '@synod/consensus';
import { type KeyPair, sign } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, createSigner, type NodeStorage } from '@synod/storage';
import { blockHash, type Clock, type Genesis, type Proposal, proposalSignBytes } from '@synod/types';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, MemoryNetwork, type SynodNode } from '../../src/index.js';
import { address, CHAIN_ID, heightReached, testGenesis, VALIDATORS, wallClock } from '../fixtures.js';

const running: SynodNode[] = [];
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop();
});

/** v0 (30 of 31) is more than 2/3 on its own: an instance of it decides alone, and so does a second one. */
const genesis = (): Genesis => testGenesis(2, {}, [30, 1]);
const V0: KeyPair = VALIDATORS[0]!;

/** The wall clock shifted by `offsetMs` (so two instances of v0 build different blocks). */
const shifted = (offsetMs: number): Clock => ({
  now: () => wallClock.now() + offsetMs,
  setTimer: wallClock.setTimer,
});

/** A node over `network` as `id`: v0's signer (a second instance of it when `offsetMs` differs), or none. */
async function nodeOf(
  network: MemoryNetwork,
  id: string,
  options: { readonly signer: boolean; readonly offsetMs?: number; readonly storage?: NodeStorage },
): Promise<{ node: SynodNode; storage: NodeStorage }> {
  const storage = options.storage ?? (await createMemoryNodeStorage());
  const node = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState }),
      transport: network.transport(id),
      clock: shifted(options.offsetMs ?? 0),
      signer: options.signer ? await createSigner(V0.seed, storage.signerState) : null,
    },
    { genesis: genesis() },
  );
  return { node, storage };
}

/** Chain B: a second instance of v0 on its own network, run to `height`, then stopped. */
async function otherChain(height: number): Promise<NodeStorage> {
  const b = await nodeOf(new MemoryNetwork(), 'b', { signer: true, offsetMs: 10_000 });
  await b.node.start();
  await heightReached(b.node, height);
  await b.node.stop();
  return b.storage;
}

describe('node: the security alert', () => {
  it('a proposal whose block carries a valid commit for another block at our height: event, then halt', async () => {
    // Chain A: v0 decides, N follows; then v0 is cut off and N waits at the next height.
    const network = new MemoryNetwork();
    const a = await nodeOf(network, 'a', { signer: true });
    const n = await nodeOf(network, 'n', { signer: false });
    const alerts: ConflictingCommits[] = [];
    const halts: Error[] = [];
    n.node.on('security-alert', (e) => alerts.push(e));
    n.node.on('halted', (e) => halts.push(e.error));
    await n.node.start();
    running.push(n.node);
    await a.node.start();
    await heightReached(n.node, 2);
    network.setConnected('a', false);
    await a.node.stop();
    await new Promise((r) => setTimeout(r, 100));
    const h = n.node.status().height;

    // Chain B (v0 signing a second history) has a block at h + 1 whose last commit is for B's block h.
    const b = await otherChain(h + 1);
    const forked = (await b.blocks.loadBlock(h + 1))!;
    expect(forked.lastCommit.height).toBe(h);
    expect(forked.lastCommit.blockHash).not.toEqual(blockHash((await n.storage.blocks.loadBlock(h))!));
    expect((await b.blocks.loadCommit(h + 1))!.round).toBe(0); // v0 is the proposer of (h + 1, 0)

    // The Byzantine v0 proposes it to N.
    const proposal: Proposal = {
      height: h + 1,
      round: 0,
      polRound: -1,
      blockHash: blockHash(forked),
      timestampMs: forked.header.timeMs,
      proposerAddress: address(V0),
    };
    network.transport('x').publish('proposals', {
      signedProposal: { proposal, signature: sign(V0, proposalSignBytes(CHAIN_ID, proposal)) },
      block: forked,
    });
    await expect.poll(() => alerts.length).toBe(1);
    expect(alerts[0]).toMatchObject({ kind: 'conflicting-commits', height: h });
    const hashes = [alerts[0]!.commitA.blockHash, alerts[0]!.commitB.blockHash];
    expect(hashes).toContainEqual(forked.lastCommit.blockHash);
    expect(hashes).toContainEqual(blockHash((await n.storage.blocks.loadBlock(h))!));
    await expect.poll(() => n.node.status().state).toBe('halted');
    expect(halts[0]?.message).toMatch(/conflicting commits/);
    expect(n.node.status().halted).toMatch(/conflicting commits/);
    expect(n.node.status().height).toBe(h); // nothing more executed
  });

  it('block sync from a peer on another fork: event and halt before consensus starts, also after a restart', async () => {
    // N is v0 on chain A, stopped at height h.
    const first = await nodeOf(new MemoryNetwork(), 'n', { signer: true });
    await first.node.start();
    await heightReached(first.node, 2);
    await first.node.stop();
    const h = first.node.status().height;

    // Chain B is ahead; N restarts (a new process: a fresh commit monitor) on B's network.
    const network = new MemoryNetwork();
    const b = await nodeOf(network, 'b', { signer: true, offsetMs: 10_000 });
    await b.node.start();
    running.push(b.node);
    await heightReached(b.node, h + 3);
    const n = await nodeOf(network, 'n', { signer: true, storage: first.storage });
    const alerts: ConflictingCommits[] = [];
    const halts: Error[] = [];
    n.node.on('security-alert', (e) => alerts.push(e));
    n.node.on('halted', (e) => halts.push(e.error));
    await n.node.start();
    running.push(n.node);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.height).toBe(h);
    expect(halts).toHaveLength(1);
    expect(n.node.status()).toMatchObject({ state: 'halted', height: h, consensus: undefined });
  });
});
