import { POWER_REDUCTION } from '@synod/ledger';
import { describe, expect, it } from 'vitest';
import { NO_DEVIATIONS, runSimulation, type SimOptions, type SimResult } from '../src/index.js';

function byzantineOf(r: SimResult): number[] {
  return [...r.scenario.byzantine.keys()].sort((a, b) => a - b);
}

/** Stake burned from validator `v` by a punishment of `ppm` (stake = power × POWER_REDUCTION). */
function burned(r: SimResult, v: number, ppm: bigint): bigint {
  return (BigInt(r.scenario.powers[v] as number) * POWER_REDUCTION * ppm) / 1_000_000n;
}

/**
 * The run passed, and every honest node that is up holds exactly `expected`
 * as the punished validators (and the decided chain applied exactly those
 * punishments): nobody else, no honest validator.
 */
function expectPunished(
  r: SimResult,
  expected: readonly {
    readonly validator: number;
    readonly equivocations: number;
    readonly downtimeJails: number;
    readonly tombstoned: boolean;
    readonly totalBurned: bigint;
  }[],
): void {
  expect(r.failure).toBeUndefined();
  expect(r.ok).toBe(true);
  const honestUp = r.finalState.nodes.filter((n) => n.honest && n.up);
  expect(honestUp.length).toBeGreaterThan(0);
  for (const n of honestUp) {
    expect(n.punished, `node ${n.index}`).toEqual(expected.map((e) => ({ ...e, jailed: true })));
  }
  const punishedByChain = [...new Set(r.punishments.map((p) => p.index))].sort((a, b) => a - b);
  expect(punishedByChain).toEqual(expected.map((e) => e.validator));
  for (const p of r.punishments) expect(r.scenario.byzantine.has(p.index)).toBe(true);
}

describe('punishments through the chain (ledger application)', () => {
  const base: Omit<SimOptions, 'seed'> = { validators: 7, byzantine: 2, heights: 6, faults: false };

  it('validators that equivocate are slashed 5%, jailed for ever and tombstoned on every honest node', async () => {
    const r = await runSimulation({
      ...base,
      seed: 1,
      byzantineProfile: { ...NO_DEVIATIONS, equivocate: 0.5 },
    });
    const byz = byzantineOf(r);
    expect(byz).toHaveLength(2);
    expectPunished(
      r,
      byz.map((validator) => ({
        validator,
        equivocations: 1,
        downtimeJails: 0,
        tombstoned: true,
        totalBurned: burned(r, validator, 50_000n),
      })),
    );
    for (const v of byz) {
      const first = r.punishments.find((p) => p.index === v);
      expect(first?.reason).toBe('double-sign');
      expect(first?.tombstoned).toBe(true);
    }
    expect(r.stats.punishments.evidenceCommitted).toBeGreaterThanOrEqual(2);
    expect(r.stats.punishments).toMatchObject({ doubleSign: 2, downtime: 0, tombstoned: 2, jailed: 2 });
    expect(r.stats.heights).toBeGreaterThan(r.stats.safetyHeights);
  }, 60_000);

  it('a validator that proposes two blocks in one round is punished for a double proposal', async () => {
    const r = await runSimulation({
      seed: 1,
      validators: 4,
      byzantine: 1,
      heights: 6,
      faults: false,
      byzantineProfile: { ...NO_DEVIATIONS, doublePropose: 1 },
    });
    const byz = byzantineOf(r);
    expect(byz).toHaveLength(1);
    const v = byz[0] as number;
    expectPunished(r, [
      {
        validator: v,
        equivocations: 1,
        downtimeJails: 0,
        tombstoned: true,
        totalBurned: burned(r, v, 50_000n),
      },
    ]);
    expect(r.punishments.map((p) => [p.index, p.reason])).toEqual([[v, 'double-proposal']]);
    expect(r.stats.byzantineActions['double-propose']).toBeGreaterThan(0);
  }, 60_000);

  it('a silent validator is jailed for downtime (1%), not tombstoned, and leaves the set', async () => {
    const r = await runSimulation({
      seed: 2,
      validators: 4,
      byzantine: 1,
      heights: 6,
      faults: false,
      byzantineProfile: { ...NO_DEVIATIONS, silent: 1 },
    });
    const byz = byzantineOf(r);
    expect(byz).toHaveLength(1);
    const v = byz[0] as number;
    expectPunished(r, [
      {
        validator: v,
        equivocations: 0,
        downtimeJails: 1,
        tombstoned: false,
        totalBurned: burned(r, v, 10_000n),
      },
    ]);
    const p = r.punishments[0];
    // Absent from every commit since height 1: the first full window is recorded at window + 1.
    expect(p).toMatchObject({ index: v, reason: 'downtime', height: 6 + 12 + 1, tombstoned: false });
    expect(r.stats.punishments).toMatchObject({ downtime: 1, doubleSign: 0, jailed: 1, tombstoned: 0 });
  }, 60_000);

  it('with crashes, partitions and storms too: only Byzantine validators are ever punished', async () => {
    let punished = 0;
    for (const seed of [11, 12, 13, 14]) {
      const r = await runSimulation({ seed, validators: 7, heights: 8 });
      expect(r.failure, `replay: pnpm sim --seed ${seed} --validators 7 --heights 8`).toBeUndefined();
      for (const p of r.punishments) expect(r.scenario.byzantine.has(p.index)).toBe(true);
      for (const n of r.finalState.nodes.filter((x) => x.honest && x.up)) {
        for (const q of n.punished ?? []) expect(r.scenario.byzantine.has(q.validator)).toBe(true);
      }
      punished += r.punishments.length;
    }
    expect(punished).toBeGreaterThan(0);
  }, 120_000);
});
