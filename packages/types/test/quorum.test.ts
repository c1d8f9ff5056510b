import { describe, expect, it } from 'vitest';
import {
  type Commit,
  commitProblem,
  hasMoreThanOneThird,
  hasTwoThirdsMajority,
  powerThresholds,
  type ValidatorSet,
} from '../src/index.js';

// Above 2^52, `power * 3 > total * 2` in floating point rounds the products:
// with a total of 2^52, 3002399751580331 is more than 2/3 (exactly), yet
// 3002399751580331 * 3 rounds down to 2^53 = total * 2.
const TOTAL = 2 ** 52;
const JUST_ABOVE = 3002399751580331;

describe('hasTwoThirdsMajority / hasMoreThanOneThird / powerThresholds', () => {
  it('is exact above 2^52 where floating point is not', () => {
    expect(BigInt(JUST_ABOVE) * 3n > BigInt(TOTAL) * 2n).toBe(true);
    expect(JUST_ABOVE * 3 > TOTAL * 2).toBe(false); // the float rule this replaces
    expect(hasTwoThirdsMajority(JUST_ABOVE, TOTAL)).toBe(true);
    expect(hasTwoThirdsMajority(JUST_ABOVE - 1, TOTAL)).toBe(false);
  });

  it('agrees with powerThresholds at every boundary (the vote keeper rule)', () => {
    for (const total of [1, 2, 3, 4, 70, 100, 2 ** 52, 2 ** 52 + 6, Number.MAX_SAFE_INTEGER]) {
      const t = powerThresholds(total);
      expect(hasTwoThirdsMajority(t.quorum, total)).toBe(true);
      expect(hasTwoThirdsMajority(t.quorum - 1, total)).toBe(false);
      expect(hasMoreThanOneThird(t.oneThird, total)).toBe(true);
      expect(hasMoreThanOneThird(t.oneThird - 1, total)).toBe(false);
    }
    expect(powerThresholds(TOTAL).quorum).toBe(JUST_ABOVE);
  });

  it('exactly 2/3 (or 1/3) is not enough', () => {
    expect(hasTwoThirdsMajority(2, 3)).toBe(false);
    expect(hasTwoThirdsMajority(3n, 4n)).toBe(true);
    expect(hasMoreThanOneThird(1, 3)).toBe(false);
  });

  it('refuses powers that are not safe integers', () => {
    expect(() => hasTwoThirdsMajority(1.5, 3)).toThrow(RangeError);
    expect(() => hasTwoThirdsMajority(1, 2 ** 53)).toThrow(RangeError);
    expect(() => powerThresholds(0)).toThrow(RangeError);
  });
});

describe('commitProblem above 2^52 total power', () => {
  const validator = (n: number, power: number) => ({
    address: new Uint8Array(20).fill(n),
    pubKey: new Uint8Array(32).fill(n),
    votingPower: power,
    proposerPriority: 0n,
  });
  // Built directly: makeValidatorSet caps totals far below this.
  const set: ValidatorSet = {
    validators: [validator(1, JUST_ABOVE), validator(2, TOTAL - JUST_ABOVE)],
  } as unknown as ValidatorSet;
  const commit = (first: 'commit' | 'absent'): Commit => ({
    height: 3,
    round: 0,
    blockHash: new Uint8Array(32).fill(9),
    signatures: [
      { flag: first, signature: new Uint8Array(64) },
      { flag: 'absent', signature: new Uint8Array(64) },
    ],
  });

  it('counts a commit of exactly the quorum as a commit (as the vote keeper does)', () => {
    expect(commitProblem('big', set, commit('commit'), { verifySignature: () => true })).toBeUndefined();
    expect(commitProblem('big', set, commit('absent'), { verifySignature: () => true })).toMatch(/2\/3/);
  });
});
