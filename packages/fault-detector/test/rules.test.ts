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

describe('rules follow the consensus params', () => {
  const custom: ConsensusParams = {
    ...DEFAULT_CONSENSUS_PARAMS,
    slashing: {
      doubleSignSlashPpm: 100_000,
      downtimeSlashPpm: 20_000,
      signedBlocksWindow: 10,
      minSignedPerWindowPpm: 700_000,
      downtimeJailDurationMs: 5_000,
    },
  };

  it('fractions, the jail period and the allowed misses are the params', () => {
    expect(equivocationPunishment('duplicate-vote', 1_000n, custom).slashAmount).toBe(100n);
    expect(equivocationPunishment('double-proposal', 1_000n, custom).slashAmount).toBe(100n);
    expect(downtimePunishment(1_000n, 7, custom)).toEqual({
      reason: 'downtime',
      slashAmount: 20n,
      jailUntilMs: 5_007,
      tombstone: false,
    });
    expect(maxMissedBlocks(custom)).toBe(3);
    expect(maxMissedBlocks(params(7, 500_000))).toBe(3); // at least ceil(3.5) = 4 signed
    const signs = [false, false, false, true, true, true, true, true, true, true];
    expect(run(signs, custom).trips).toEqual([]);
    expect(run([false, false, false, false, ...signs.slice(4)], custom).trips).toEqual([9]);
  });
});

describe('downtime window: what the ledger relies on', () => {
  it('a validator that always signs never trips, whatever the window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 1_000_000 }), (w, ppm) => {
        expect(run(Array(300).fill(true), params(w, ppm)).trips).toEqual([]);
      }),
    );
  });

  it('trips exactly when a full window holds more than maxMissedBlocks misses', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.boolean(), { maxLength: 120 }),
        (w, ppm, signs) => {
          const p = params(w, ppm);
          const expected = signs.flatMap((_, i) => {
            const last = signs.slice(Math.max(0, i + 1 - w), i + 1);
            return i + 1 >= w && last.filter((s) => !s).length > maxMissedBlocks(p) ? [i] : [];
          });
          expect(run(signs, p).trips).toEqual(expected);
        },
      ),
    );
  });

  it('a sliding window trips when the 51st miss enters, not before', () => {
    const p = params(100, 500_000);
    // 100 signed, then misses: the 51st miss (index 150) is the first with 51 misses in the window.
    const r = run([...Array(100).fill(true), ...Array(60).fill(false)], p);
    expect(r.trips[0]).toBe(150);
  });

  it('a fresh window (the reset after a downtime jail or an unjail) needs a full window again', () => {
    const p = params(100, 500_000);
    const { info, trips } = run(Array(100).fill(false), p);
    expect(trips).toEqual([99]);
    expect(info.missedCount).toBe(100);
    let fresh = newSigningInfo(100);
    const after: number[] = [];
    for (let i = 0; i < 100; i++) {
      const r = recordSignature(fresh, false, p);
      fresh = r.info;
      if (r.downtime) after.push(i);
    }
    expect(after).toEqual([99]);
  });

  it('a window of another size restarts the record', () => {
    const { info } = run(Array(10).fill(false), params(10, 500_000));
    const r = recordSignature(info, false, params(20, 500_000));
    expect(r.info).toMatchObject({ recorded: 1, missedCount: 1 });
    expect(r.info.missed.length).toBe(3);
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
