import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignedVoteSsz, VoteSsz } from '../src/schema.js';
import {
  decodeSignedVote,
  decodeSignedVoteSsz,
  encodeSignedVote,
  encodeVote,
  SIGNED_VOTE_BYTES,
  VOTE_BYTES,
  voteToSsz,
} from '../src/vote.js';
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

/** Votes are also read directly; the generic SSZ decoder (decodeSignedVoteSsz) is the reference. */
describe('vote decoding: the direct reader equals the SSZ decoder', () => {
  const outcome = (bytes: Uint8Array, decode: (b: Uint8Array) => unknown): unknown => {
    try {
      return { value: decode(bytes) };
    } catch (err) {
      const e = err as { code?: string; message: string; constructor: { name: string } };
      return { error: e.constructor.name, code: e.code, message: e.message };
    }
  };
  const same = (bytes: Uint8Array): void => {
    expect(outcome(bytes, decodeSignedVote)).toEqual(outcome(bytes, decodeSignedVoteSsz));
  };
  /** A signed vote's bytes: block hash bytes `fill`, validator address bytes 8, signature bytes 9. */
  const sampleWire = (
    type: 'prevote' | 'precommit',
    height: number,
    round: number,
    fill: number,
  ): Uint8Array =>
    encodeSignedVote({
      vote: {
        type,
        height,
        round,
        blockHash: new Uint8Array(32).fill(fill),
        validatorAddress: new Uint8Array(20).fill(8),
      },
      signature: new Uint8Array(64).fill(9),
    });

  it('any 129 bytes (and encoded votes): the same vote, or the same error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SIGNED_VOTE_BYTES, maxLength: SIGNED_VOTE_BYTES }), same),
      {
        numRuns: 2000,
      },
    );
    fc.assert(
      fc.property(arb.signedVote, (sv) => {
        const wire = encodeSignedVote(sv);
        same(wire);
        expect(decodeSignedVote(wire)).toEqual(sv);
      }),
      { numRuns: 1000 },
    );
  });

  it('edges: vote types, the round limit, both sides of 2^53, other lengths', () => {
    const base = sampleWire('prevote', 5, 1, 9);
    const variant = (at: number, bytes: number[]): Uint8Array => {
      const b = base.slice();
      b.set(bytes, at);
      return b;
    };
    for (const t of [0, 1, 2, 3, 255]) same(variant(0, [t]));
    for (const hi of [0x1f_ffff, 0x20_0000, 0xffff_ffff])
      same(variant(5, [hi & 0xff, (hi >>> 8) & 0xff, (hi >>> 16) & 0xff, hi >>> 24]));
    same(variant(1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00]));
    for (const round of [0, 0xffff, 0x7fff_ffff, 0xffff_ffff])
      same(variant(9, [round & 0xff, (round >>> 8) & 0xff, (round >>> 16) & 0xff, round >>> 24]));
    same(variant(13, new Array(32).fill(0)));
    for (const n of [0, 65, 128, 130]) same(new Uint8Array(n));
  });

  it('copies: the vote does not alias the input, a Buffer included', () => {
    const wire = Buffer.from(sampleWire('precommit', 9, 0, 7));
    const sv = decodeSignedVote(wire);
    wire.fill(0xee);
    expect(sv.vote.blockHash?.[0]).toBe(7);
    expect(sv.vote.validatorAddress[0]).toBe(8);
    expect(sv.signature[0]).toBe(9);
  });
});
