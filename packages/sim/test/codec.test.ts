import {
  DEFAULT_HEIGHT_WINDOW,
  DEFAULT_MESSAGE_LIMITS,
  GossipValidationError,
  ProposalTracker,
  type ValidationParams,
  validateGossipMessage,
} from '@synod/p2p/validation';
import { blockHash, proposalSignBytes } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { encodeGossip, GOSSIP_TOPICS, Rng, SIM_CHAIN_ID } from '../src/index.js';
import { doubleSign, type Fixture, firstBlock, fixture, GENESIS_MS, prevote } from './helpers.js';

/** @synod/p2p's validation over the fixture's chain at height 1 (as a node at genesis sees it). */
function params(f: Fixture, chainId = SIM_CHAIN_ID, lastTimeMs = GENESIS_MS): ValidationParams {
  return {
    ctx: {
      chainId,
      currentHeight: () => 1,
      validatorSetAt: (h) => (h >= 1 && h <= 3 ? f.set : undefined),
      proposerIndex: () => 0,
      evidenceChain: () => ({
        height: 1,
        timeMs: lastTimeMs,
        params: f.chain.params,
        blockTimeAt: (h) => (h === 1 ? lastTimeMs : undefined),
      }),
      verifySignature: f.oracle.verify,
    },
    limits: DEFAULT_MESSAGE_LIMITS,
    window: DEFAULT_HEIGHT_WINDOW,
    proposals: new ProposalTracker(),
  };
}

async function signedProposalOf(f: Fixture, hash: Uint8Array, height = 1) {
  const v = f.set.validators[0];
  if (v === undefined) throw new Error('no validator');
  const proposal = {
    height,
    round: 0,
    polRound: -1,
    blockHash: hash,
    timestampMs: 5,
    proposerAddress: v.address,
  };
  const signature = f.oracle.sign(
    f.seeds[0] as Uint8Array,
    v.pubKey,
    proposalSignBytes(SIM_CHAIN_ID, proposal),
  );
  return { proposal, signature };
}

describe('gossip wire: @synod/p2p encoding, @synod/p2p validation', () => {
  it('a message of every topic passes the real validation and comes back as it was sent', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const signedProposal = await signedProposalOf(f, blockHash(block));
    const p = params(f);
    const proposal = validateGossipMessage(
      'proposals',
      encodeGossip('proposals', { signedProposal, block }),
      p,
    );
    expect(proposal).toMatchObject({ signedProposal, block, conflicting: false });
    const vote = prevote(f, 1, 1, null, 2);
    expect(validateGossipMessage('votes', encodeGossip('votes', vote), p)).toEqual(vote);
    const ev = doubleSign(f, 3, 1, block.header.timeMs);
    expect(
      validateGossipMessage(
        'evidence',
        encodeGossip('evidence', ev),
        params(f, SIM_CHAIN_ID, block.header.timeMs),
      ),
    ).toEqual(ev);
    const tx = f.chain.transfer({ sender: 0, nonce: 0, to: 1, amount: 3n });
    // a transaction travels as a batch of one (the libp2p network's wire: many per batch)
    expect(validateGossipMessage('txs', encodeGossip('txs', tx), p)).toMatchObject({
      txs: [{ bytes: tx }],
      rejected: 0,
      ignored: 0,
    });
  });

  it('garbage is refused with a GossipValidationError, never otherwise: random bytes, bit flips, truncations, on every topic', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const good = encodeGossip('proposals', {
      signedProposal: await signedProposalOf(f, blockHash(block)),
      block,
    });
    const rng = new Rng(42);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array;
      if (i % 3 === 0) bytes = rng.bytes(rng.int(0, 400));
      else if (i % 3 === 1) {
        bytes = good.slice();
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(0, 7));
      } else bytes = good.slice(0, rng.int(0, good.length - 1));
      try {
        validateGossipMessage(rng.pick(GOSSIP_TOPICS), bytes, params(f));
      } catch (err) {
        expect(err).toBeInstanceOf(GossipValidationError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(2000);
  });

  it('rejects a proposal whose block is not its own, a block of another chain and a transaction of another chain', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const other = await firstBlock(f, 1);
    const mismatched = encodeGossip('proposals', {
      signedProposal: await signedProposalOf(f, blockHash(other)),
      block,
    });
    expect(() => validateGossipMessage('proposals', mismatched, params(f))).toThrow(
      expect.objectContaining({ action: 'REJECT', reason: 'BLOCK_HASH_MISMATCH' }),
    );
    const own = encodeGossip('proposals', {
      signedProposal: await signedProposalOf(f, blockHash(block)),
      block,
    });
    // under another chain id the proposal's signature itself no longer verifies
    expect(() => validateGossipMessage('proposals', own, params(f, 'another-chain'))).toThrow(
      expect.objectContaining({ action: 'REJECT' }),
    );
    const tx = f.chain.transfer({ sender: 0, nonce: 0, to: 1, amount: 3n, chainId: 'another-chain' });
    expect(() => validateGossipMessage('txs', encodeGossip('txs', tx), params(f))).toThrow(
      expect.objectContaining({ action: 'REJECT', reason: 'WRONG_CHAIN' }),
    );
  });
});
