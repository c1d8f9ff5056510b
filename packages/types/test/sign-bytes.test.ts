import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  proposalSignBytes,
  SIGN_DOMAIN,
  SynodError,
  signBytes,
  txSignBytes,
  voteSignBytes,
} from '../src/index.js';
import * as arb from './arbitraries.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('sign bytes', () => {
  it('a prevote can never be replayed as a precommit', () => {
    fc.assert(
      fc.property(arb.chainId, arb.vote, (chainId, v) => {
        const pv = voteSignBytes(chainId, { ...v, type: 'prevote' });
        const pc = voteSignBytes(chainId, { ...v, type: 'precommit' });
        expect(hex(pv)).not.toBe(hex(pc));
      }),
    );
  });

  it('differ across chain ids', () => {
    fc.assert(
      fc.property(arb.chainId, arb.chainId, arb.vote, (a, b, v) => {
        fc.pre(a !== b);
        expect(hex(voteSignBytes(a, v))).not.toBe(hex(voteSignBytes(b, v)));
      }),
    );
  });

  it('are unambiguous across domains (no vote, proposal or tx shares bytes with another kind)', () => {
    fc.assert(
      fc.property(arb.chainId, arb.vote, arb.proposal, arb.tx, (chainId, v, p, t) => {
        const all = [
          voteSignBytes(chainId, v),
          proposalSignBytes(chainId, p),
          txSignBytes(chainId, t.body),
        ].map(hex);
        expect(new Set(all).size).toBe(3);
      }),
    );
  });

  it('are injective in the chain id even when the chain id is a prefix of another', () => {
    const body = new Uint8Array([0x61, 0x62]);
    expect(hex(signBytes('prevote', 'ab', body))).not.toBe(
      hex(signBytes('prevote', 'abab', new Uint8Array())),
    );
  });

  it('carry the documented layout', () => {
    const b = signBytes('proposal', 'c1', new Uint8Array([9]));
    expect(Buffer.from(b.subarray(0, 9)).toString()).toBe('synod/v1/');
    expect(b[9]).toBe(SIGN_DOMAIN.proposal);
    expect(b[10]).toBe(2);
    expect(Buffer.from(b.subarray(11, 13)).toString()).toBe('c1');
    expect(b[13]).toBe(9);
  });

  it('reject an invalid chain id', () => {
    expect(() => signBytes('prevote', '', new Uint8Array())).toThrow(SynodError);
    expect(() => signBytes('prevote', 'bad id', new Uint8Array())).toThrow(/chain id/);
  });
});
