import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  decodeBlock,
  decodeCommit,
  decodeConsensusParams,
  decodeEvidence,
  decodeHeader,
  decodeProposal,
  decodeSignedProposal,
  decodeSignedVote,
  decodeTx,
  decodeValidatorSet,
  decodeVote,
  EVIDENCE_BYTES_MAX,
  encodeBlock,
  encodeCommit,
  encodeConsensusParams,
  encodeEvidence,
  encodeHeader,
  encodeProposal,
  encodeSignedProposal,
  encodeSignedVote,
  encodeTx,
  encodeValidatorSet,
  encodeVote,
  LIMITS,
  SIGNED_TX_BYTES_MAX,
  SynodError,
} from '../src/index.js';
import * as arb from './arbitraries.js';

interface Codec<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode: (v: T) => Uint8Array;
  decode: (b: Uint8Array) => T;
}

const codec = <T>(c: Codec<T>): Codec<unknown> => c as Codec<unknown>;

const CODECS: Codec<unknown>[] = [
  codec({ name: 'vote', arb: arb.vote, encode: encodeVote, decode: decodeVote }),
  codec({ name: 'signedVote', arb: arb.signedVote, encode: encodeSignedVote, decode: decodeSignedVote }),
  codec({ name: 'proposal', arb: arb.proposal, encode: encodeProposal, decode: decodeProposal }),
  codec({
    name: 'signedProposal',
    arb: arb.signedProposal,
    encode: encodeSignedProposal,
    decode: decodeSignedProposal,
  }),
  codec({ name: 'header', arb: arb.header, encode: encodeHeader, decode: decodeHeader }),
  codec({ name: 'commit', arb: arb.commit, encode: encodeCommit, decode: decodeCommit }),
  codec({ name: 'evidence', arb: arb.evidence, encode: encodeEvidence, decode: decodeEvidence }),
  codec({ name: 'block', arb: arb.block, encode: encodeBlock, decode: (b) => decodeBlock(b) }),
  codec({ name: 'tx', arb: arb.tx, encode: encodeTx, decode: (b) => decodeTx(b) }),
  codec({
    name: 'validatorSet',
    arb: arb.validatorSet,
    encode: encodeValidatorSet,
    decode: decodeValidatorSet,
  }),
  codec({
    name: 'consensusParams',
    arb: arb.consensusParams,
    encode: encodeConsensusParams,
    decode: decodeConsensusParams,
  }),
];

describe.each(CODECS)('$name codec', (c) => {
  it('round-trips every value', () => {
    fc.assert(
      fc.property(c.arb, (v) => {
        const bytes = c.encode(v);
        expect(c.decode(bytes)).toEqual(v);
      }),
      { numRuns: 200 },
    );
  });

  it('is canonical: whatever decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(c.arb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, pos, byte) => {
        const bytes = c.encode(v);
        const mutated = bytes.slice();
        if (mutated.length > 0) mutated[pos % mutated.length] = byte;
        let decoded: unknown;
        try {
          decoded = c.decode(mutated);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
          return;
        }
        expect(Buffer.from(c.encode(decoded)).equals(Buffer.from(mutated))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('fails on random bytes only with a typed DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          c.decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
          expect((err as DecodeError).code).toMatch(/^DECODE_[A-Z_]+$/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('fails on truncated encodings with a typed DecodeError', () => {
    fc.assert(
      fc.property(c.arb, fc.nat(), (v, cut) => {
        const bytes = c.encode(v);
        if (bytes.length === 0) return;
        const truncated = bytes.subarray(0, cut % bytes.length);
        try {
          c.decode(truncated);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('decoding bounds', () => {
  it('no transaction or evidence encodes above its stated maximum (the p2p topic bounds)', () => {
    fc.assert(
      fc.property(arb.tx, arb.evidence, (tx, ev) => {
        expect(encodeTx(tx).length).toBeLessThanOrEqual(SIGNED_TX_BYTES_MAX);
        expect(encodeEvidence(ev).length).toBeLessThanOrEqual(EVIDENCE_BYTES_MAX);
      }),
    );
    // a tx with the longest chain id and memo reaches the bound exactly
    const [longest] = fc.sample(arb.tx, 1);
    if (longest === undefined) throw new Error('no sample');
    const full = {
      ...longest,
      body: {
        ...longest.body,
        chainId: 'c'.repeat(LIMITS.chainIdBytesMax),
        memo: new Uint8Array(LIMITS.memoBytesMax),
        msg: { kind: 'bond' as const, validatorPubKey: new Uint8Array(32), amount: 1n },
      },
    };
    expect(SIGNED_TX_BYTES_MAX).toBeLessThan(512);
    expect(EVIDENCE_BYTES_MAX).toBeLessThan(320);
    expect(encodeTx(full as never).length).toBe(SIGNED_TX_BYTES_MAX);
  });

  it('rejects an oversized tx before parsing', () => {
    const err = (() => {
      try {
        decodeTx(new Uint8Array(LIMITS.txBytesMax + 1));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe('DECODE_TOO_LARGE');
  });

  it('honours a caller-supplied block size limit', () => {
    const block = fc.sample(arb.block, 1)[0];
    const bytes = encodeBlock(block as never);
    expect(() => decodeBlock(bytes, bytes.length - 1)).toThrow(/exceeds the limit/);
    expect(decodeBlock(bytes, bytes.length)).toEqual(block);
  });

  it('rejects non-bytes input', () => {
    expect(() => decodeVote('abc' as unknown as Uint8Array)).toThrow(DecodeError);
  });

  it('rejects uint64 values above 2^53 instead of rounding them', () => {
    const v = {
      type: 'prevote' as const,
      height: 1,
      round: 0,
      blockHash: null,
      validatorAddress: new Uint8Array(20),
    };
    const bytes = encodeVote(v);
    bytes.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 1);
    expect(() => decodeVote(bytes)).toThrow(DecodeError);
  });

  it('refuses to encode out-of-range values with a typed error', () => {
    const v = {
      type: 'prevote' as const,
      height: -1,
      round: 0,
      blockHash: null,
      validatorAddress: new Uint8Array(20),
    };
    expect(() => encodeVote(v)).toThrow(SynodError);
    expect(() => encodeVote({ ...v, height: 1, validatorAddress: new Uint8Array(19) })).toThrow(/20 bytes/);
    expect(() => encodeVote({ ...v, height: 1, type: 'commit' as never })).toThrow(SynodError);
  });

  it('rejects a proposal whose polRound is not below its round', () => {
    const p = {
      height: 1,
      round: 2,
      polRound: 2,
      blockHash: new Uint8Array(32).fill(1),
      timestampMs: 0,
      proposerAddress: new Uint8Array(20),
    };
    expect(() => encodeProposal(p)).toThrow(/polRound/);
    const ok = encodeProposal({ ...p, polRound: 1 });
    ok[12] = 2; // polRound field (offset 8 + 4) := 2
    expect(() => decodeProposal(ok)).toThrow(DecodeError);
  });
});
