import { type KeyPair, sign } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, createSigner } from '@synod/storage';
import {
  canonicalEvidence,
  type Evidence,
  evidenceTimeProblem,
  type Genesis,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createNode,
  type EvidenceEvent,
  type GossipValidationView,
  MemoryNetwork,
  type NodeTransport,
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

/** v0 (power 30 of 40) decides alone; v1 (10) is a validator that never runs: the one to accuse. */
const genesis = (): Genesis => testGenesis(2, {}, [30, 10]);

/** Duplicate-vote evidence against `key` at `height` (two precommits for different blocks, round 0). */
function duplicateVote(key: KeyPair, height: number, timeMs: number, power = 10, total = 40): Evidence {
  const vote = (fill: number): Vote => ({
    type: 'precommit',
    height,
    round: 0,
    blockHash: new Uint8Array(32).fill(fill),
    validatorAddress: address(key),
  });
  const signed = (v: Vote) => ({ vote: v, signature: sign(key, voteSignBytes(CHAIN_ID, v)) });
  return canonicalEvidence({
    kind: 'duplicate-vote',
    voteA: signed(vote(1)),
    voteB: signed(vote(2)),
    validatorPower: power,
    totalVotingPower: total,
    timeMs,
  });
}

/** Block time of `height` as `node` stored it. */
async function blockTimeOf(storage: Awaited<ReturnType<typeof createMemoryNodeStorage>>, height: number) {
  return (await storage.blocks.loadHeader(height))!.timeMs;
}

describe('node: evidence and the application', () => {
  it('drops evidence against a validator the application tombstoned', async () => {
    const network = new MemoryNetwork();
    const v0 = await validatorNode(network, 0, genesis());
    const attacker = network.transport('x');
    const events: EvidenceEvent[] = [];
    v0.node.on('evidence', (e) => events.push(e));
    const withEvidence: number[] = [];
    v0.node.on('block', (e) => {
      if (e.block.evidence.length > 0) withEvidence.push(e.height);
    });
    await v0.node.start();
    running.push(v0.node);
    await heightReached(v0.node, 3);
    const accused = VALIDATORS[1]!;

    // A first double sign (height 1) is taken, proposed and punished: v1 is tombstoned.
    attacker.publish('evidence', duplicateVote(accused, 1, await blockTimeOf(v0.storage, 1)));
    await heightReached(v0.node, v0.node.status().height + 3);
    expect(events).toHaveLength(1);
    expect(withEvidence).toHaveLength(1);
    const validator = await v0.node.query({ path: 'validator', data: address(accused) });
    expect(JSON.parse(new TextDecoder().decode(validator.value))).toMatchObject({ tombstoned: true });

    // A second one (height 2) could never be punished: not kept, not announced, never in a block.
    attacker.publish('evidence', duplicateVote(accused, 2, await blockTimeOf(v0.storage, 2)));
    await heightReached(v0.node, v0.node.status().height + 3);
    expect(events).toHaveLength(1);
    expect(v0.node.status().evidencePending).toBe(0);
    expect(withEvidence).toHaveLength(1);
  });

  it("gives the transport's validation the committed chain, for evidence's height and time rules", async () => {
    const network = new MemoryNetwork();
    const inner = network.transport('v0');
    const views: GossipValidationView[] = [];
    // A transport that validates: it keeps the view the node attaches (until stop).
    const transport: NodeTransport = {
      publish: (topic, message) => inner.publish(topic, message),
      subscribe: (topic, handler) => inner.subscribe(topic, handler),
      serve: (provider) => inner.serve(provider),
      requestStatus: (peer) => inner.requestStatus(peer),
      requestBlockByHash: (hash, options) => inner.requestBlockByHash(hash, options),
      requestBlockRange: (peer, from, to) => inner.requestBlockRange(peer, from, to),
      requestConsensus: (peer, request) => inner.requestConsensus(peer, request),
      peers: () => inner.peers(),
      attachValidation: (view) => {
        views.push(view);
        return () => views.splice(views.indexOf(view), 1);
      },
    };
    const storage = await createMemoryNodeStorage();
    const node = createNode(
      {
        storage,
        application: await Ledger.open({ kv: storage.state.appState }),
        transport,
        clock: wallClock,
        signer: await createSigner(VALIDATORS[0]!.seed, storage.signerState),
      },
      { genesis: genesis() },
    );
    await node.start();
    running.push(node);
    await heightReached(node, 3);
    expect(views).toHaveLength(1);
    const chain = views[0]!.evidenceChain();
    const height = node.status().height;
    expect(chain.height).toBe(height);
    expect(chain.timeMs).toBe(node.status().lastBlockTimeMs);
    expect(chain.params.evidence.maxAgeBlocks).toBeGreaterThan(0);
    const t1 = await blockTimeOf(storage, 1);
    expect(chain.blockTimeAt(1)).toBe(t1);
    expect(chain.blockTimeAt(height + 1)).toBeUndefined();
    // The rule p2p applies with it: evidence of a committed height with its block time passes; one
    // from a height not committed yet, or with another time, does not.
    const accused = VALIDATORS[1]!;
    expect(evidenceTimeProblem(duplicateVote(accused, 1, t1), chain)).toBeUndefined();
    expect(evidenceTimeProblem(duplicateVote(accused, height + 5, t1), chain)?.code).toBe('FROM_FUTURE');
    expect(evidenceTimeProblem(duplicateVote(accused, 1, t1 + 1), chain)?.code).toBe('WRONG_TIME');
    // The view follows the chain (no copy): later blocks show.
    await heightReached(node, height + 1);
    expect(chain.height).toBeGreaterThan(height);
    await node.stop();
    running.splice(0);
    expect(views).toHaveLength(0); // detached at stop
  });
});

describe('node: submitted evidence (the RPC’s broadcast_evidence)', () => {
  it('verifies it like a peer’s: a forged one is refused with the reason, a valid one added once, then a duplicate', async () => {
    const network = new MemoryNetwork();
    const v0 = await validatorNode(network, 0, genesis());
    running.push(v0.node);
    const events: EvidenceEvent[] = [];
    v0.node.on('evidence', (e) => events.push(e));
    await v0.node.start();
    await heightReached(v0.node, 3);
    const accused = VALIDATORS[1] as KeyPair;
    // Forged first (once valid evidence commits, the accused is tombstoned and nothing more is taken).
    const other = duplicateVote(accused, 1, await blockTimeOf(v0.storage, 1));
    const forged: Evidence =
      other.kind === 'duplicate-vote'
        ? { ...other, voteB: { ...other.voteB, signature: new Uint8Array(64).fill(3) } }
        : other;
    const verdict = await v0.node.submitEvidence(forged);
    expect(verdict.status).toBe('invalid');
    expect(verdict.status === 'invalid' && verdict.reason).toMatch(/signature/i);
    expect(events).toHaveLength(0);
    const ev = duplicateVote(accused, 2, await blockTimeOf(v0.storage, 2));
    expect(await v0.node.submitEvidence(ev)).toEqual({ status: 'added' });
    expect(await v0.node.submitEvidence(ev)).toEqual({ status: 'duplicate' });
    expect(events).toHaveLength(1);
  });
});
