import { blockHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { decodeGossip, encodeGossip, GOSSIP_TOPICS, Rng, SIM_CHAIN_ID } from '../src/index.js';
import { doubleSign, firstBlock, fixture, prevote } from './helpers.js';

describe('gossip codec', () => {
  it('round-trips a message of every topic', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const v = f.set.validators[0];
    if (v === undefined) throw new Error('no validator');
    const signedProposal = {
      proposal: {
        height: 1,
        round: 0,
        polRound: -1,
        blockHash: blockHash(block),
        timestampMs: 5,
        proposerAddress: v.address,
      },
      signature: new Uint8Array(64).fill(4),
    };
    const proposal = { signedProposal, block };
    expect(decodeGossip('proposals', encodeGossip('proposals', proposal), SIM_CHAIN_ID)).toEqual(proposal);
    const vote = prevote(f, 1, 1, null, 2);
    expect(decodeGossip('votes', encodeGossip('votes', vote), SIM_CHAIN_ID)).toEqual(vote);
    const ev = doubleSign(f, 3, 1, block.header.timeMs);
    expect(decodeGossip('evidence', encodeGossip('evidence', ev), SIM_CHAIN_ID)).toEqual(ev);
    const tx = f.chain.transfer({ sender: 0, nonce: 0, to: 1, amount: 3n });
    expect(decodeGossip('txs', encodeGossip('txs', tx), SIM_CHAIN_ID)).toEqual(tx);
  });

  it('rejects garbage by throwing, never otherwise: random bytes, bit flips, truncations, on every topic', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const v = f.set.validators[0];
    if (v === undefined) throw new Error('no validator');
    const good = encodeGossip('proposals', {
      signedProposal: {
        proposal: {
          height: 1,
          round: 0,
          polRound: -1,
          blockHash: blockHash(block),
          timestampMs: 5,
          proposerAddress: v.address,
        },
        signature: new Uint8Array(64),
      },
      block,
    });
    const rng = new Rng(42);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array;
      if (i % 3 === 0) bytes = rng.bytes(rng.int(0, 400));
      else if (i % 3 === 1) {
        bytes = good.slice();
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(0, 7));
      } else bytes = good.slice(0, rng.int(0, good.length - 1));
      try {
        decodeGossip(rng.pick(GOSSIP_TOPICS), bytes, SIM_CHAIN_ID);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(2000);
  });

  it('rejects a block of another chain, a proposal whose block is not its own and a transaction of another chain', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const other = await firstBlock(f, 1);
    const v = f.set.validators[0];
    if (v === undefined) throw new Error('no validator');
    const signedProposal = {
      proposal: {
        height: 1,
        round: 0,
        polRound: -1,
        blockHash: blockHash(other),
        timestampMs: 5,
        proposerAddress: v.address,
      },
      signature: new Uint8Array(64),
    };
    const bytes = encodeGossip('proposals', { signedProposal, block });
    expect(() => decodeGossip('proposals', bytes, SIM_CHAIN_ID)).toThrow(/hash mismatch/);
    const own = encodeGossip('proposals', {
      signedProposal: {
        ...signedProposal,
        proposal: { ...signedProposal.proposal, blockHash: blockHash(block) },
      },
      block,
    });
    expect(() => decodeGossip('proposals', own, 'another-chain')).toThrow(/another chain/);
    const tx = f.chain.transfer({ sender: 0, nonce: 0, to: 1, amount: 3n, chainId: 'another-chain' });
    expect(() => decodeGossip('txs', tx, SIM_CHAIN_ID)).toThrow(/another chain/);
  });
});
