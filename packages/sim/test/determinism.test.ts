import { describe, expect, it } from 'vitest';
import { runSimulation } from '../src/index.js';

describe('determinism', () => {
  it('the same seed replays bit for bit: trace hash, trace, final state and counts', async () => {
    const a = await runSimulation({ seed: 3, trace: true });
    const b = await runSimulation({ seed: 3, trace: true });
    expect(a.stats.crashes + a.stats.partitions + a.stats.storms).toBeGreaterThan(0);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.trace).toEqual(a.trace);
    expect(b.finalState).toEqual(a.finalState);
    expect(b.stats).toEqual(a.stats);
    expect(b.failure).toEqual(a.failure);
  }, 300_000);

  it('asking for the readable trace does not change the run', async () => {
    const quiet = await runSimulation({ seed: 5 });
    const lines: string[] = [];
    const loud = await runSimulation({ seed: 5, trace: (l) => lines.push(l) });
    expect(loud.traceHash).toBe(quiet.traceHash);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines[0]).toContain('seed=5 validators=');
  }, 300_000);

  it('different seeds give different runs', async () => {
    const hashes = new Set<string>();
    for (const seed of [1, 2, 3, 6]) hashes.add((await runSimulation({ seed })).traceHash);
    expect(hashes.size).toBe(4);
  }, 300_000);

  it('the same seed with other options is another run, itself repeatable', async () => {
    const a = await runSimulation({ seed: 9, validators: 7, signatures: 'fast' });
    const b = await runSimulation({ seed: 9, validators: 7, signatures: 'fast' });
    const c = await runSimulation({ seed: 9 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 300_000);
});
