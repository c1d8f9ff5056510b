import { describe, expect, it } from 'vitest';
import {
  type ByzantineProfile,
  FLOOD_BUDGET,
  NO_DEVIATIONS,
  runSimulation,
  type SimOptions,
  type SimResult,
} from '../src/index.js';

/**
 * The attack strategies of issue #11 (items 1, 5–8, 15–16), each alone at
 * full strength on every Byzantine validator, in a whole cluster: the run
 * passes every checker (agreement, validity, evidence, punishments,
 * liveness), the strategy really happened, and only Byzantine validators
 * are punished.
 */
function attack(profile: Partial<ByzantineProfile>, options: Omit<SimOptions, 'seed'> = {}, seed = 1) {
  return runSimulation({
    validators: 4,
    byzantine: 1,
    heights: 8,
    faults: false,
    trace: true,
    ...options,
    seed,
    byzantineProfile: { ...NO_DEVIATIONS, ...profile },
  });
}

/** The run's readable trace (kept: `trace: true`). */
function traceOf(r: SimResult): readonly string[] {
  expect(r.trace).toBeDefined();
  return r.trace ?? [];
}

function expectPassed(r: SimResult): void {
  expect(r.failure, `replay: seed ${r.seed}`).toBeUndefined();
  expect(r.ok).toBe(true);
  for (const p of r.punishments) expect(r.scenario.byzantine.has(p.index)).toBe(true);
  const honest = r.finalState.nodes.filter((n) => n.honest && n.up);
  expect(honest.length).toBeGreaterThan(0);
  for (const n of honest) expect(n.decided).toBeGreaterThanOrEqual(r.scenario.heights);
}

describe('attack strategies (issue #11)', () => {
  it('targeted double proposals: the victim gets another block, the rest decide ours, and the victim decides it too (item 1)', async () => {
    // A validator is tombstoned after its first punished double proposal, so one run sees a few
    // attacks: runs of seeds 1, 2, … until both kinds of victim have been seen (each run must pass).
    const targeted: string[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const r = await attack({ targetedPropose: 1 }, {}, seed);
      expectPassed(r);
      const lines = traceOf(r).filter((l) => / byzantine \d+ targeted-propose: /.test(l));
      expect(r.stats.byzantineActions['targeted-propose']).toBe(lines.length);
      targeted.push(...lines);
      // Every height decided by every honest node, one block per height (agreement): the victims too.
      const decided = r.finalState.nodes.filter((n) => n.honest).map((n) => n.decided);
      expect(Math.min(...decided)).toBeGreaterThanOrEqual(r.scenario.heights);
      // A victim that got both proposals of the round reports the double proposal; the chain punishes it.
      const byz = [...r.scenario.byzantine.keys()][0] as number;
      expect(r.punishments.map((p) => [p.index, p.reason])).toEqual([[byz, 'double-proposal']]);
      if (targeted.some((l) => !l.includes(' first, ')) && targeted.some((l) => l.includes(' first, ')))
        break;
    }
    // Victims that only ever got the other block (they fetch ours), and victims that got both proposals.
    expect(targeted.some((l) => !l.includes(' first, '))).toBe(true);
    expect(targeted.some((l) => l.includes(' first, '))).toBe(true);
  }, 120_000);

  it('vote floods: hundreds of distinct conflicting votes of one round; the equivocator is tombstoned (items 5, 8)', async () => {
    const r = await attack({ voteFlood: 1 });
    expectPassed(r);
    expect(r.stats.byzantineActions['vote-flood']).toBeGreaterThan(0);
    const byz = [...r.scenario.byzantine.keys()][0] as number;
    expect(r.punishments.map((p) => [p.index, p.reason])).toContainEqual([byz, 'double-sign']);
    for (const n of r.finalState.nodes.filter((x) => x.honest && x.up))
      expect(n.punished?.map((p) => [p.validator, p.tombstoned])).toEqual([[byz, true]]);
  }, 60_000);

  it('round floods: votes for many future rounds, up to and past the look-ahead, and far-round proposals (items 6, 9, 15)', async () => {
    const r = await attack({ roundFlood: 1 });
    expectPassed(r);
    expect(r.stats.byzantineActions['round-flood']).toBeGreaterThan(0);
    expect(
      traceOf(r).some((l) => /round-flood: \d+ votes for rounds .* and [1-9]\d* far-round proposals/.test(l)),
    ).toBe(true);
    // The flood does not drag the honest nodes into far rounds.
    expect(r.stats.maxRound).toBeLessThan(10);
  }, 60_000);

  it('next-height floods: votes and proposals for h + 1 ahead of the honest round-0 proposal (item 7)', async () => {
    const r = await attack({ nextHeightFlood: 1 });
    expectPassed(r);
    expect(r.stats.byzantineActions['next-height-flood']).toBeGreaterThan(0);
    // The honest proposers' round-0 proposals still get through: most heights decide in round 0.
    expect(r.stats.extraRounds).toBeLessThan(r.stats.heights);
  }, 60_000);

  it('evidence floods: byte-distinct copies of one equivocation, and a proposer block with forged evidence for an infraction honest pools hold (item 16)', async () => {
    // Equivocation gives the pools real evidence to copy and forge. The forged block needs a Byzantine
    // proposer holding pending evidence: runs of seeds 1, 2, … until one had it (each run must pass).
    let forged = false;
    let rejected = 0;
    for (let seed = 1; seed <= 10 && !forged; seed++) {
      const r = await attack({ evidenceFlood: 1, equivocate: 0.5 }, { validators: 7, byzantine: 2 }, seed);
      expectPassed(r);
      expect(r.stats.byzantineActions['evidence-flood']).toBeGreaterThan(0);
      expect(traceOf(r).some((l) => l.includes('byte-distinct copies'))).toBe(true);
      forged = traceOf(r).some((l) =>
        l.includes('whose signature is invalid, for an infraction its pool holds'),
      );
      rejected += r.stats.gossipRejected;
    }
    expect(forged).toBe(true);
    // The forged copies were rejected on arrival (their signatures do not verify), never relayed.
    expect(rejected).toBeGreaterThan(0);
  }, 120_000);

  it('every strategy at once, with faults, on bigger clusters', async () => {
    const all: Partial<ByzantineProfile> = {
      targetedPropose: 0.5,
      voteFlood: 0.2,
      roundFlood: 0.2,
      nextHeightFlood: 0.3,
      evidenceFlood: 0.3,
      equivocate: 0.3,
    };
    for (const [seed, validators] of [
      [3, 7],
      [4, 10],
    ] as const) {
      const r = await attack(all, { validators, byzantine: validators === 7 ? 2 : 3, faults: true }, seed);
      expectPassed(r);
      // Each Byzantine validator's floods (messages made, each sent to some peers) stay within its budget.
      const made = new Map<number, number>();
      for (const l of traceOf(r)) {
        const m = / byzantine (\d+) (?:vote|round|next-height|evidence)-flood: (.*)$/.exec(l);
        if (m === null) continue;
        const v = Number(m[1]);
        let n = 0;
        for (const x of (m[2] as string).matchAll(
          /(\d+) (?:conflicting|votes|byte-distinct|proposals|far-round)/g,
        ))
          n += Number(x[1]);
        made.set(v, (made.get(v) ?? 0) + n);
      }
      expect(made.size).toBeGreaterThan(0);
      for (const [v, n] of made) {
        expect(r.scenario.byzantine.has(v)).toBe(true);
        expect(n).toBeLessThanOrEqual(FLOOD_BUDGET);
      }
      // Memory per height is reported for every node.
      expect(r.heap).toHaveLength(validators);
      for (const h of r.heap.filter((x) => x.samples.length > 0)) expect(h.walMaxBytes).toBeGreaterThan(0);
    }
  }, 120_000);

  it('a forger proposes only blocks with a forged last commit or forged evidence: no honest node decides one, and the chain goes on', async () => {
    // Runs of seeds 1, 2, … until both forgeries have been proposed (each run must pass).
    const made = new Set<string>();
    for (let seed = 1; seed <= 12 && made.size < 2; seed++) {
      const r = await attack({ forgeBlocks: 1 }, { heights: 12 }, seed);
      expectPassed(r);
      const lines = traceOf(r).filter((l) => / byzantine \d+ forge-block: /.test(l));
      expect(lines.length).toBe(r.stats.byzantineActions['forge-block']);
      for (const l of lines) made.add(l.slice(l.lastIndexOf(' forged ') + 8));
    }
    expect([...made].sort()).toEqual(['evidence', 'last-commit']);
  }, 300_000);
});
