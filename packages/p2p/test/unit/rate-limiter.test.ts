import type { Clock } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVE_RATE_LIMITS, ServeRateLimiter } from '../../src/reqresp/rate-limiter.js';

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

const limits = { ...DEFAULT_SERVE_RATE_LIMITS, 'block-range': { perSecond: 2, burst: 3 } };

describe('ServeRateLimiter', () => {
  it('serves a burst, refuses beyond it, and refills at the sustained rate', () => {
    const clock = manualClock();
    const limiter = new ServeRateLimiter(clock, limits);
    expect([1, 2, 3, 4].map(() => limiter.take('flooder', 'block-range'))).toEqual([true, true, true, false]);
    // refused requests do not earn tokens
    clock.advance(400);
    expect(limiter.take('flooder', 'block-range')).toBe(false);
    clock.advance(100); // 0.5 s in all: one token at 2/s
    expect(limiter.take('flooder', 'block-range')).toBe(true);
    expect(limiter.take('flooder', 'block-range')).toBe(false);
    // never more than the burst, however long the pause
    clock.advance(3_600_000);
    expect([1, 2, 3, 4].map(() => limiter.take('flooder', 'block-range'))).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per peer and per protocol', () => {
    const clock = manualClock();
    const limiter = new ServeRateLimiter(clock, limits);
    for (let i = 0; i < 3; i++) limiter.take('flooder', 'block-range');
    expect(limiter.take('flooder', 'block-range')).toBe(false);
    expect(limiter.take('honest', 'block-range')).toBe(true);
    expect(limiter.take('flooder', 'status')).toBe(true);
  });

  it('holds a bounded number of buckets, forgetting full ones first', () => {
    const clock = manualClock();
    const limiter = new ServeRateLimiter(clock, limits, 10);
    for (let i = 0; i < 3; i++) limiter.take('flooder', 'block-range');
    for (let i = 0; i < 100; i++) {
      limiter.take(`peer-${i}`, 'status');
      clock.advance(1_000);
      expect(limiter.size()).toBeLessThanOrEqual(10);
    }
    // the empty bucket of a flooder that keeps asking is not the one forgotten while others are full
    const flooder = new ServeRateLimiter(clock, limits, 10);
    for (let i = 0; i < 4; i++) flooder.take('flooder', 'block-range');
    for (let i = 0; i < 20; i++) {
      flooder.take(`peer-${i}`, 'status');
      clock.advance(10_000);
      for (let j = 0; j < 40; j++) flooder.take('flooder', 'block-range');
    }
    expect(flooder.take('flooder', 'block-range')).toBe(false);
  });

  it('refuses a limit that would never serve anything', () => {
    expect(() => new ServeRateLimiter(manualClock(), { ...limits, pex: { perSecond: 1, burst: 0 } })).toThrow(
      RangeError,
    );
  });
});
