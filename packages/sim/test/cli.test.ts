import { describe, expect, it } from 'vitest';
import {
  actionsLine,
  addActions,
  addMemory,
  addTotals,
  emptyActions,
  emptyMemory,
  emptyTotals,
  heapLines,
  memoryLine,
  parseArgs,
  punishmentLine,
  replayCommand,
  UsageError,
} from '../src/cli-args.js';
import { runSimulation } from '../src/index.js';

describe('CLI arguments', () => {
  it('one seed, with options kept for the replay command', () => {
    const cli = parseArgs(['--seed', '42', '--validators', '7', '--byzantine', '2', '--no-faults']);
    expect(cli.seed).toBe(42);
    expect(cli.options).toEqual({ validators: 7, byzantine: 2, faults: false });
    expect(replayCommand(42, cli.flags)).toBe('pnpm sim --seed 42 --validators 7 --byzantine 2 --no-faults');
  });

  it('many seeds, a validator range, and the -- pnpm may pass along', () => {
    const cli = parseArgs([
      '--',
      '--seeds',
      '1000',
      '--from',
      '5',
      '--validators',
      '4-10',
      '--heights',
      '20',
    ]);
    expect(cli.seeds).toBe(1000);
    expect(cli.from).toBe(5);
    expect(cli.options).toEqual({ validators: [4, 10], heights: 20 });
  });

  it('refuses what does not make sense', () => {
    expect(() => parseArgs([])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--seeds', '2'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '-1'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--validators', '101'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--mutation', 'ignore-lock-l22'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--frobnicate'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--app', 'counter'])).toThrow(UsageError);
  });

  it('--no-workload turns the transactions off, and the replay command keeps it', () => {
    const cli = parseArgs(['--seed', '3', '--no-workload']);
    expect(cli.options).toEqual({ workload: false });
    expect(replayCommand(3, cli.flags)).toBe('pnpm sim --seed 3 --no-workload');
  });

  it('punishment totals add up over runs and print in one line', async () => {
    const t = emptyTotals();
    expect(punishmentLine(t)).toBe(
      'evidence committed 0, slashed 0 (double-sign 0, double-proposal 0, downtime 0), jailed 0, tombstoned 0',
    );
    const r = await runSimulation({ seed: 1, faults: false, heights: 4 });
    addTotals(t, r);
    addTotals(t, r);
    const p = r.stats.punishments;
    expect(t.evidenceCommitted).toBe(2 * p.evidenceCommitted);
    expect(t.doubleSign + t.doubleProposal + t.downtime).toBe(2 * r.punishments.length);
    expect(punishmentLine(t)).toContain(`jailed ${2 * p.jailed}, tombstoned ${2 * p.tombstoned}`);
  });

  it('memory per height and Byzantine actions: one line per node, totals over runs', async () => {
    const r = await runSimulation({ seed: 2, heights: 4 });
    const lines = heapLines(r.heap);
    expect(lines).toHaveLength(1 + r.scenario.validators);
    for (const h of r.heap) {
      expect(h.samples.length).toBeGreaterThan(0);
      expect(h.peakBytes).toBeGreaterThan(0);
      expect(h.walMaxBytes).toBeGreaterThanOrEqual(h.walMeanBytes);
      expect(h.walMeanBytes).toBeGreaterThan(0);
      expect(lines[1 + h.index]).toMatch(
        new RegExp(
          `^  node ${h.index}: peak [\\d.]+ MiB at h=\\d+, .* KiB/height over \\d+ heights .*; WAL [\\d.]+ KiB/height, at most [\\d.]+ KiB \\(h=${h.walMaxHeight}\\)$`,
        ),
      );
    }
    const m = emptyMemory();
    addMemory(m, r);
    const top = Math.max(...r.heap.map((h) => h.walMaxBytes));
    expect(m.wal.bytes).toBe(top);
    expect(memoryLine(m)).toContain(`largest WAL of one height ${(top / 1024).toFixed(1)} KiB (seed 2,`);
    const a = emptyActions();
    addActions(a, r);
    addActions(a, r);
    const kinds = Object.entries(r.stats.byzantineActions);
    for (const [k, n] of kinds) expect(actionsLine(a)).toContain(`${k} ${2 * n} (${n > 0 ? 2 : 0} seeds)`);
  });
});
