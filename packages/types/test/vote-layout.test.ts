import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignedVoteSsz, VoteSsz } from '../src/schema.js';
import { encodeSignedVote, encodeVote, SIGNED_VOTE_BYTES, VOTE_BYTES, voteToSsz } from '../src/vote.js';
import * as arb from './arbitraries.js';

/** Votes are written directly (the hot path); @chainsafe/ssz's serializer is the reference. */
describe('vote encoding: the direct writer equals the SSZ serializer', () => {
  it('Vote', () => {
    fc.assert(
      fc.property(arb.vote, (v) => {
        const direct = encodeVote(v);
        expect(direct.length).toBe(VOTE_BYTES);
        expect(direct).toEqual(VoteSsz.serialize(voteToSsz(v)));
      }),
      { numRuns: 1000 },
    );
  });

  it('SignedVote', () => {
    fc.assert(
      fc.property(arb.signedVote, (sv) => {
        const direct = encodeSignedVote(sv);
        expect(direct.length).toBe(SIGNED_VOTE_BYTES);
        expect(direct).toEqual(
          SignedVoteSsz.serialize({ vote: voteToSsz(sv.vote), signature: sv.signature }),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('heights above 2^32 and at 2^53 - 1 land in both u64 halves', () => {
    const v = {
      type: 'precommit' as const,
      height: Number.MAX_SAFE_INTEGER,
      round: 7,
      blockHash: null,
      validatorAddress: new Uint8Array(20).fill(3),
    };
    expect(encodeVote(v)).toEqual(VoteSsz.serialize(voteToSsz(v)));
    const w = { ...v, height: 2 ** 32 + 5 };
    expect(encodeVote(w)).toEqual(VoteSsz.serialize(voteToSsz(w)));
  });
});
