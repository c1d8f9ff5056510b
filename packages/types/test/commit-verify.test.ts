import { addressFromPublicKey, keyPairFromSeed, sign } from '@synod/crypto';
import { describe, expect, it } from 'vitest';
import {
  type Commit,
  commitProblem,
  makeValidatorSet,
  type ValidatorSet,
  voteSignBytes,
} from '../src/index.js';

const CHAIN = 'commit-test';
const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));
const set: ValidatorSet = makeValidatorSet(
  keys.map((k, i) => ({
    address: addressFromPublicKey(k.publicKey),
    pubKey: k.publicKey,
    votingPower: i === 0 ? 40 : 10, // total 70: quorum is more than 46.67
    proposerPriority: 0n,
  })),
);
const keyOf = (i: number) =>
  keys.find((k) =>
    Buffer.from(addressFromPublicKey(k.publicKey)).equals(set.validators[i]?.address ?? new Uint8Array()),
  );
const BLOCK = new Uint8Array(32).fill(7);

/** A commit at height 5 round 1: flags per validator index ('c' commit, 'n' nil, '-' absent). */
function commit(flags: string, blockHash = BLOCK): Commit {
  return {
    height: 5,
    round: 1,
    blockHash,
    signatures: [...flags].map((f, i) => {
      const v = set.validators[i];
      if (f === '-' || v === undefined) return { flag: 'absent' as const, signature: new Uint8Array(64) };
      const msg = voteSignBytes(CHAIN, {
        type: 'precommit',
        height: 5,
        round: 1,
        blockHash: f === 'c' ? blockHash : null,
        validatorAddress: v.address,
      });
      return { flag: f === 'c' ? ('commit' as const) : ('nil' as const), signature: sign(keyOf(i)!, msg) };
    }),
  };
}

const bigIndex = set.validators.findIndex((v) => v.votingPower === 40);
const flagsWith = (big: string, others: string) =>
  set.validators.map((_, i) => (i === bigIndex ? big : others[i < bigIndex ? i : i - 1])).join('');

describe('commitProblem', () => {
  it('accepts more than 2/3 of the power precommitting the block, nil and absent included', () => {
    expect(
      commitProblem(CHAIN, set, commit(flagsWith('c', 'cn-')), { height: 5, blockHash: BLOCK }),
    ).toBeUndefined();
  });

  it('exactly 2/3 or less is no quorum; nil precommits do not count toward it', () => {
    // 40 + 10 = 50 > 46.67: a quorum; 10 + 10 + 10 = 30 and nils: not.
    expect(commitProblem(CHAIN, set, commit(flagsWith('n', 'ccc')))).toMatch(/more than 2\/3/);
    expect(commitProblem(CHAIN, set, commit(flagsWith('c', '---')))).toMatch(/more than 2\/3/);
  });

  it('names what is wrong: height, block, signature count, a bad signature', () => {
    const good = commit(flagsWith('c', 'cc-'));
    expect(commitProblem(CHAIN, set, good, { height: 6 })).toMatch(/height 5, expected 6/);
    expect(commitProblem(CHAIN, set, good, { blockHash: new Uint8Array(32) })).toMatch(/another block/);
    expect(commitProblem(CHAIN, set, { ...good, signatures: good.signatures.slice(1) })).toMatch(
      /3 signatures for 4/,
    );
    const forged = {
      ...good,
      signatures: good.signatures.map((s) => ({ ...s, signature: new Uint8Array(64).fill(1) })),
    };
    expect(commitProblem(CHAIN, set, forged)).toMatch(/invalid signature of validator 0/);
    expect(commitProblem('other-chain', set, good)).toMatch(/invalid signature/);
  });

  it('uses the given signature check instead of the default', () => {
    const good = commit(flagsWith('c', 'cc-'));
    const seen: number[] = [];
    const yes = (_pk: Uint8Array, _m: Uint8Array, s: Uint8Array) => {
      seen.push(s[0] as number);
      return true;
    };
    const forged = {
      ...good,
      signatures: good.signatures.map((s) => ({ ...s, signature: new Uint8Array(64).fill(9) })),
    };
    expect(commitProblem(CHAIN, set, forged, { verifySignature: yes })).toBeUndefined();
    expect(seen).toEqual([9, 9, 9]); // the three present signatures, absent ones skipped
    expect(commitProblem(CHAIN, set, good, { verifySignature: () => false })).toMatch(/invalid signature/);
  });
});
