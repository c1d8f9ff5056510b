import { type ConsensusParams, DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConflictingCommitDetector,
  canUnjail,
  downtimePunishment,
  equivocationPunishment,
  fractionOf,
  maxMissedBlocks,
  newSigningInfo,
  recordSignature,
  type SigningInfo,
} from '../src/index.js';
import { hashOf } from './fixtures.js';

const params = (window: number, minSignedPpm: number): ConsensusParams => ({
  ...DEFAULT_CONSENSUS_PARAMS,
  slashing: {
    ...DEFAULT_CONSENSUS_PARAMS.slashing,
    signedBlocksWindow: window,
    minSignedPerWindowPpm: minSignedPpm,
  },
});

function run(signs: readonly boolean[], p: ConsensusParams): { info: SigningInfo; trips: number[] } {
  let info = newSigningInfo(p.slashing.signedBlocksWindow);
  const trips: number[] = [];
  signs.forEach((s, i) => {
    const r = recordSignature(info, s, p);
    info = r.info;
    if (r.downtime) trips.push(i);
  });
  return { info, trips };
}

describe('slashing rules', () => {
  it('slash fractions are exact floors in ppm', () => {
    expect(fractionOf(1_000_000n, 50_000)).toBe(50_000n);
    expect(fractionOf(999n, 10_000)).toBe(9n);
    expect(() => fractionOf(1n, 1_000_001)).toThrow(RangeError);
  });

  it('double sign: 5% by default, jailed for ever, tombstoned', () => {
    const p = equivocationPunishment('duplicate-vote', 1000n, DEFAULT_CONSENSUS_PARAMS);
    expect(p).toEqual({
      reason: 'double-sign',
      slashAmount: 50n,
      jailUntilMs: Number.POSITIVE_INFINITY,
      tombstone: true,
    });
    expect(equivocationPunishment('double-proposal', 1000n, DEFAULT_CONSENSUS_PARAMS).reason).toBe(
      'double-proposal',
    );
  });

  it('downtime: 1% by default, jailed for the period, may unjail after it', () => {
    const p = downtimePunishment(1000n, 5000, DEFAULT_CONSENSUS_PARAMS);
    expect(p.slashAmount).toBe(10n);
    expect(p.tombstone).toBe(false);
    expect(p.jailUntilMs).toBe(5000 + DEFAULT_CONSENSUS_PARAMS.slashing.downtimeJailDurationMs);
    expect(canUnjail(p.jailUntilMs, false, p.jailUntilMs - 1)).toBe(false);
    expect(canUnjail(p.jailUntilMs, false, p.jailUntilMs)).toBe(true);
    expect(canUnjail(p.jailUntilMs, true, p.jailUntilMs)).toBe(false);
    expect(canUnjail(Number.POSITIVE_INFINITY, false, 1e15)).toBe(false);
  });
});

describe('downtime window', () => {
  it('defaults as in Cosmos: window 100, at least 50% signed', () => {
    expect(DEFAULT_CONSENSUS_PARAMS.slashing.signedBlocksWindow).toBe(100);
    expect(maxMissedBlocks(DEFAULT_CONSENSUS_PARAMS)).toBe(50);
  });

  it('trips only after a full window with more than the allowed misses', () => {
    const p = params(100, 500_000);
    // 50 misses then 50 signs: exactly at the limit, no trip.
    expect(run([...Array(50).fill(false), ...Array(50).fill(true)], p).trips).toEqual([]);
    // 51 misses within the first window: trips when the window is full (index 99).
    const r = run([...Array(51).fill(false), ...Array(49).fill(true)], p);
    expect(r.trips[0]).toBe(99);
    // Misses all early: no trip before a full window is observed.
    expect(run(Array(99).fill(false), p).trips).toEqual([]);
  });

  it('forgets misses that slide out of the window', () => {
    const p = params(10, 500_000);
    const signs = [...Array(5).fill(false), ...Array(10).fill(true)];
    const { info, trips } = run(signs, p);
    expect(trips).toEqual([]);
    expect(info.missedCount).toBe(0);
  });

  it('missedCount always equals the misses among the last window slots', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.boolean(), { maxLength: 200 }), (w, signs) => {
        const { info } = run(signs, params(w, 500_000));
        const last = signs.slice(-w);
        expect(info.missedCount).toBe(last.filter((s) => !s).length);
      }),
    );
  });
});

describe('conflicting commits alarm', () => {
  const commit = (h: number, block: number) => ({
    height: h,
    round: 0,
    blockHash: hashOf(block),
    signatures: [],
  });

  it('raises once two commits for different blocks exist at one height', () => {
    const d = new ConflictingCommitDetector();
    expect(d.observe(commit(5, 1))).toBeUndefined();
    expect(d.observe(commit(5, 1))).toBeUndefined();
    expect(d.observe(commit(6, 2))).toBeUndefined();
    const alert = d.observe(commit(5, 9));
    expect(alert?.height).toBe(5);
    expect(alert?.commitA.blockHash).toEqual(hashOf(1));
    expect(alert?.commitB.blockHash).toEqual(hashOf(9));
    expect(d.alert).toBe(alert);
  });
});
