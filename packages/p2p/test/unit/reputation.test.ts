import type { Clock } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REPUTATION, PeerReputation } from '../../src/peers/reputation.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    setTimer: () => () => {},
    advance(ms) {
      now += ms;
    },
  };
}

describe('PeerReputation', () => {
  it('bans a peer at the fourth reject in quick succession', () => {
    const clock = manualClock();
    const r = new PeerReputation(clock);
    expect(r.penalise('a', 'gossip-reject')).toEqual({ points: 10, banned: false });
    r.penalise('a', 'gossip-reject');
    r.penalise('a', 'gossip-reject');
    expect(r.isBanned('a')).toBe(false);
    expect(r.penalise('a', 'gossip-reject')).toEqual({ points: 40, banned: true });
    expect(r.isBanned('a')).toBe(true);
    expect(r.isBanned('b')).toBe(false);
    // a further penalty does not ban twice
    expect(r.penalise('a', 'gossip-reject').banned).toBe(false);
  });

  it('weighs penalties by reason', () => {
    const r = new PeerReputation(manualClock());
    r.penalise('a', 'oversized-message');
    r.penalise('a', 'bad-request');
    expect(r.points('a')).toBe(25);
  });

  it('halves points every half-life, so rare mistakes never add up to a ban', () => {
    const clock = manualClock();
    const r = new PeerReputation(clock);
    r.penalise('a', 'gossip-reject');
    clock.advance(DEFAULT_REPUTATION.halfLifeMs);
    expect(r.points('a')).toBeCloseTo(5, 6);
    for (let i = 0; i < 20; i++) {
      clock.advance(DEFAULT_REPUTATION.halfLifeMs);
      r.penalise('a', 'gossip-reject');
    }
    expect(r.isBanned('a')).toBe(false);
    expect(r.points('a')).toBeLessThan(20.1);
  });

  it('lifts a ban after its duration, with a clean slate', () => {
    const clock = manualClock();
    const r = new PeerReputation(clock);
    r.ban('a', 'manual');
    expect(r.banned().map((b) => b.peer)).toEqual(['a']);
    clock.advance(DEFAULT_REPUTATION.banDurationMs - 1);
    expect(r.isBanned('a')).toBe(true);
    clock.advance(1);
    expect(r.isBanned('a')).toBe(false);
    expect(r.points('a')).toBe(0);
    expect(r.banned()).toEqual([]);
  });

  it('unban() forgives at once; custom durations are honoured', () => {
    const clock = manualClock();
    const r = new PeerReputation(clock);
    r.ban('a', 'manual', 50);
    r.unban('a');
    expect(r.isBanned('a')).toBe(false);
    r.ban('b', 'manual', 50);
    clock.advance(50);
    expect(r.isBanned('b')).toBe(false);
  });

  it('tracks a bounded number of peers and prunes decayed ones', () => {
    const clock = manualClock();
    const r = new PeerReputation(clock, { ...DEFAULT_REPUTATION, trackedPeersMax: 3 });
    for (const p of ['a', 'b', 'c', 'd']) r.penalise(p, 'bad-request');
    expect(r.points('a')).toBe(0);
    expect(r.points('d')).toBe(5);
    clock.advance(DEFAULT_REPUTATION.halfLifeMs * 10);
    r.prune();
    expect(r.points('d')).toBe(0);
  });
});
