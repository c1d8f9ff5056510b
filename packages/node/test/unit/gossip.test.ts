import { type KeyPair, sign } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage } from '@synod/storage';
import {
  type Block,
  blockHash,
  canonicalEvidence,
  type Evidence,
  encodeEvidence,
  type Genesis,
  type Proposal,
  proposalSignBytes,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createNode,
  type EvidenceEvent,
  MemoryNetwork,
  type MemoryNetwork as Net,
  type ProposalMessage,
  type SynodNode,
} from '../../src/index.js';
import {
  address,
  CHAIN_ID,
  heightReached,
  testGenesis,
  VALIDATORS,
  validatorNode,
  wallClock,
} from '../fixtures.js';

const running: SynodNode[] = [];
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop();
});

/** Resolves with the first value `poll` returns that is not undefined (every 10 ms, up to `ms`). */
async function eventually<T>(poll: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await poll();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A started node without a signer (a follower) over `network`. */
async function follower(network: Net, id: string, genesis: Genesis): Promise<SynodNode> {
  const storage = await createMemoryNodeStorage();
  const node = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState }),
      transport: network.transport(id),
      clock: wallClock,
      signer: null,
    },
    { genesis },
  );
  await node.start();
  running.push(node);
  return node;
}

describe('node: gossip of proposals', () => {
  it('keeps a gossiped block for block-by-hash only once the engine verified its proposal', async () => {
    // Two validators, only v0 runs: it proposes round 0 (the higher power) but cannot decide alone
    // (15 of 25), so held blocks stay held.
    const genesis = testGenesis(2, {}, [15, 10]);
    const network = new MemoryNetwork();
    const attacker = network.transport('x');
    const seen: ProposalMessage[] = [];
    attacker.subscribe('proposals', ({ message }) => {
      seen.push(message);
    });
    await follower(network, 'f', genesis); // first, so that it hears v0's first proposal
    const v0 = await validatorNode(network, 0, genesis);
    await v0.node.start();
    running.push(v0.node);

    // v0's real proposal: the follower's engine verifies it, validates the block, and serves it.
    const real = await eventually(async () => seen[0]);
    const realHash = blockHash(real.block);
    const served = await eventually(() => attacker.requestBlockByHash(realHash, { peer: 'f' }));
    expect(blockHash(served)).toEqual(realHash);

    // A forged proposal (v1's name, another key's signature) with a block of the same height.
    const planted: Block = {
      ...real.block,
      header: { ...real.block.header, timeMs: real.block.header.timeMs + 1 },
    };
    const forger: KeyPair = VALIDATORS[3]!;
    const proposal: Proposal = {
      height: planted.header.height,
      round: real.signedProposal.proposal.round,
      polRound: -1,
      blockHash: blockHash(planted),
      timestampMs: planted.header.timeMs,
      proposerAddress: address(VALIDATORS[1]!),
    };
    attacker.publish('proposals', {
      signedProposal: { proposal, signature: sign(forger, proposalSignBytes(CHAIN_ID, proposal)) },
      block: planted,
    });
    // Let every handler run, then ask both nodes for the planted block.
    await new Promise((r) => setTimeout(r, 100));
    expect(await attacker.requestBlockByHash(blockHash(planted), { peer: 'f' })).toBeUndefined();
    expect(await attacker.requestBlockByHash(blockHash(planted), { peer: 'v0' })).toBeUndefined();
  });
});

describe('node: gossip of evidence', () => {
  it('evidence received over the transport reaches the pool, then a block, then the application', async () => {
    // v0 (30 of 40) decides alone; v1 (10) never runs and double-signs height 1.
    const genesis = testGenesis(2, {}, [30, 10]);
    const network = new MemoryNetwork();
    const v0 = await validatorNode(network, 0, genesis);
    const attacker = network.transport('x');
    const events: EvidenceEvent[] = [];
    v0.node.on('evidence', (e) => events.push(e));
    const included: Evidence[] = [];
    v0.node.on('block', (e) => included.push(...e.block.evidence));
    await v0.node.start();
    running.push(v0.node);
    await heightReached(v0.node, 2);
    const accused = VALIDATORS[1]!;
    const vote = (fill: number): Vote => ({
      type: 'precommit',
      height: 1,
      round: 0,
      blockHash: new Uint8Array(32).fill(fill),
      validatorAddress: address(accused),
    });
    const signed = (v: Vote) => ({ vote: v, signature: sign(accused, voteSignBytes(CHAIN_ID, v)) });
    const evidence = canonicalEvidence({
      kind: 'duplicate-vote',
      voteA: signed(vote(1)),
      voteB: signed(vote(2)),
      validatorPower: 10,
      totalVotingPower: 40,
      timeMs: (await v0.storage.blocks.loadHeader(1))!.timeMs,
    });
    attacker.publish('evidence', evidence);

    // The pool took it (announced with the relaying peer), kept it in the evidence store …
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]?.source).toEqual({ peer: 'x' });
    expect(events[0]?.evidence).toEqual(evidence);
    // … and the next proposal carried it: committed once, marked so in the store, punished.
    await expect.poll(() => included.length).toBe(1);
    expect(encodeEvidence(included[0]!)).toEqual(encodeEvidence(evidence));
    await heightReached(v0.node, v0.node.status().height + 2);
    expect(included).toHaveLength(1);
    expect(v0.node.status().evidencePending).toBe(0);
    expect(await v0.storage.evidence.status(evidence)).toBe('committed');
    const info = await v0.node.query({ path: 'validator', data: address(accused) });
    expect(JSON.parse(new TextDecoder().decode(info.value))).toMatchObject({ tombstoned: true });
    // A relayed copy of committed evidence is ignored.
    attacker.publish('evidence', evidence);
    await heightReached(v0.node, v0.node.status().height + 1);
    expect(events).toHaveLength(1);
  });
});
