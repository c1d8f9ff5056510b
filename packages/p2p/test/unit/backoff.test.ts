import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF } from '../../src/peers/backoff.js';

const noJitter = { ...DEFAULT_BACKOFF, jitter: 0 };

describe('backoffDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    const delays = Array.from({ length: 9 }, (_, i) => backoffDelayMs(i, noJitter, () => 0.5));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('spreads each delay over ±jitter around its base, never above the cap', () => {
    const o = { initialMs: 1_000, maxMs: 10_000, factor: 2, jitter: 0.2 };
    expect(backoffDelayMs(0, o, () => 0)).toBe(800);
    expect(backoffDelayMs(0, o, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(0, o, () => 0.999_999)).toBe(1_200);
    expect(backoffDelayMs(2, o, () => 0)).toBe(3_200);
    // at the cap, jitter can only go down
    expect(backoffDelayMs(10, o, () => 0.999_999)).toBe(10_000);
    expect(backoffDelayMs(10, o, () => 0)).toBe(8_000);
  });

  it('is deterministic for a given random source, and tolerates odd inputs', () => {
    const seq = [0.1, 0.9, 0.3];
    const run = () => seq.map((r, i) => backoffDelayMs(i, DEFAULT_BACKOFF, () => r));
    expect(run()).toEqual(run());
    expect(backoffDelayMs(-3, noJitter, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(1.7, noJitter, () => 0.5)).toBe(2_000);
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 7)).toBe(1_200);
    expect(backoffDelayMs(5_000, noJitter, () => 0.5)).toBe(60_000);
  });
});
