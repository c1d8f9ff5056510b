import { describe, expect, it } from 'vitest';
import { latencySummary, percentile } from '../../src/load/report.js';

describe('load report numbers', () => {
  it('percentiles by nearest rank', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(s, 50), percentile(s, 95), percentile(s, 99), percentile(s, 100)]).toEqual([
      50, 95, 99, 100,
    ]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([1, 2, 3], 50)).toBe(2);
  });

  it('a latency summary sorts its input and rounds', () => {
    expect(latencySummary([30.4, 10.2, 20.6])).toEqual({ p50: 21, p95: 30, p99: 30, max: 30, mean: 20 });
    expect(latencySummary([])).toEqual({});
  });
});
