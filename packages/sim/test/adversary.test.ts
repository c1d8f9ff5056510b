import { describe, expect, it } from 'vitest';
import { chooseAdversary, partitionSchedules } from '../src/adversary.js';
import { NO_DEVIATIONS, Rng, runSimulation, scenarioOf } from '../src/index.js';

describe('adversary: Twins and the lock-split schedules', () => {
  it('enumerates every two-round schedule of two-group partitions of five nodes (node 0 in group 0)', () => {
    const all = partitionSchedules(5, 2);
    expect(all).toHaveLength(256);
    expect(new Set(all.map((s) => JSON.stringify(s))).size).toBe(256);
    for (const s of all) for (const p of s) expect(p[0]).toBe(0);
  });

  it('draws every kind, with the twins a Byzantine validator and the height inside the safety phase', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const plan = chooseAdversary(new Rng(seed), seed, 4, [2], 12);
      if (plan === null) throw new Error('a plan is always possible here');
      kinds.add(plan.kind);
      expect(plan.twinOf).toBe(2);
      expect(plan.height).toBeGreaterThanOrEqual(2);
      expect(plan.height).toBeLessThanOrEqual(10);
    }
    expect([...kinds].sort()).toEqual(['lock-split', 'lock-split-pol', 'partitions']);
    expect(chooseAdversary(new Rng(1), 1, 4, [], 12)).toBeNull();
  });

  it('builds the dangerous states on the correct code, which stays safe: a node decides in round 0 while others wait for the schedule to end', async () => {
    // seed 7: lock-split-pol at height 4; seed 11: lock-split at height 4 (the decider decides alone)
    for (const seed of [7, 11]) {
      const r = await runSimulation({ seed, trace: true });
      expect(r.ok, r.failure?.reason).toBe(true);
      const plan = r.scenario.adversary;
      if (plan === null) throw new Error(`seed ${seed} has no adversary`);
      const lines = r.trace ?? [];
      expect(lines.some((l) => l.includes(`adversary: ${plan.kind} at height ${plan.height}`))).toBe(true);
      const twin = r.scenario.validators;
      const decisions = lines
        .map((l) => /t=\s*(\d+) decide node (\d+) h=(\d+) r=(\d+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && Number(m[3]) === plan.height)
        .map((m) => ({ t: Number(m[1]), node: Number(m[2]), round: Number(m[4]) }))
        .filter((d) => d.node !== twin && d.node !== plan.twinOf);
      const first = Math.min(...decisions.map((d) => d.t));
      const last = Math.max(...decisions.map((d) => d.t));
      // the decider alone before the others: they waited at least a round's timeouts
      const t = r.scenario.timeouts;
      expect(last - first).toBeGreaterThan(t.proposeMs + t.prevoteMs + t.precommitMs);
      // every honest node decided the same block there (the checkers' agreement held)
      expect(r.finalState.nodes.filter((n) => n.honest).every((n) => n.decided >= plan.height)).toBe(true);
    }
  }, 300_000);

  it('swarm: seeds turn fault kinds and Byzantine deviations on and off; a given profile is left alone', () => {
    const kinds = new Set<string>();
    let masked = 0;
    let adversaries = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const s = scenarioOf({ seed });
      kinds.add(JSON.stringify(s.faultKinds));
      if (s.adversary !== null) adversaries++;
      for (const p of s.byzantine.values()) if (Object.values(p).filter((v) => v > 0).length <= 3) masked++;
    }
    expect(kinds.size).toBeGreaterThan(3);
    expect(masked).toBeGreaterThan(0);
    expect(adversaries).toBeGreaterThan(5);
    expect(adversaries).toBeLessThan(35);
    const fixed = scenarioOf({ seed: 3, byzantineProfile: { ...NO_DEVIATIONS, equivocate: 1 } });
    expect(fixed.adversary).toBeNull();
    expect(fixed.faultKinds).toEqual({ crash: true, partition: true, storm: true, walLoss: false });
    expect(scenarioOf({ seed: 3, swarm: false, adversary: false }).faultKinds).toEqual({
      crash: true,
      partition: true,
      storm: true,
      walLoss: false,
    });
  });

  it("WAL loss: a node that dies right after its round-0 proposal went out comes back without its WAL; the signer's guard keeps it from a second proposal", async () => {
    expect(scenarioOf({ seed: 1 }).faultKinds.walLoss).toBe(true);
    const r = await runSimulation({ seed: 1, trace: true });
    expect(r.failure, 'replay: seed 1').toBeUndefined();
    expect(r.stats.walLosses).toBeGreaterThan(0);
    const lines = r.trace ?? [];
    const lost = lines.filter((l) =>
      /restart node \d+ from height \d+ \(WAL lost: nothing to replay\)/.test(l),
    );
    expect(lost.length).toBe(r.stats.walLosses);
    // Each restarted node came back within a hop, at the height it left: the one it had proposed at.
    for (const l of lines.filter((x) =>
      /crash node \d+ \(power cut just after its round-0 proposal/.test(x),
    )) {
      const [, node, height] = /crash node (\d+) .* at height (\d+)/.exec(l) ?? [];
      expect(lost.some((x) => x.includes(`restart node ${node} from height ${height} `))).toBe(true);
    }
  }, 300_000);
});
