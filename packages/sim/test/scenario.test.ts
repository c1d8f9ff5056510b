import { describe, expect, it } from 'vitest';
import { EventQueue, maxByzantineCount, Rng, runSimulation } from '../src/index.js';

describe('scenario', () => {
  it('Byzantine power always stays strictly below 1/3', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runSimulation({
        seed,
        validators: [4, 12],
        heights: 1,
        livenessHeights: 1,
        signatures: 'fast',
      });
      const s = r.scenario;
      const total = s.powers.reduce((a, b) => a + b, 0);
      const byz = [...s.byzantine.keys()].reduce((a, i) => a + (s.powers[i] as number), 0);
      expect(3 * byz).toBeLessThan(total);
      expect(s.byzantine.size).toBeGreaterThan(0);
      expect(s.validators).toBeGreaterThanOrEqual(4);
      expect(s.validators).toBeLessThanOrEqual(12);
    }
  }, 300_000);

  it('--byzantine 0 and --no-faults are honoured', async () => {
    const r = await runSimulation({ seed: 1, byzantine: 0, faults: false, heights: 3 });
    expect(r.scenario.byzantine.size).toBe(0);
    expect(r.scenario.faults).toBeNull();
    expect(r.stats.crashes + r.stats.partitions + r.stats.storms).toBe(0);
    expect(r.ok).toBe(true);
  }, 300_000);

  it('the fault model is exercised (over 30 to 70 seeds): every Byzantine action, crashes, partitions, storms, syncs, liveness requests and timeouts, transactions, evidence, punishments', async () => {
    const actions: Record<string, number> = {};
    const totals = {
      crashes: 0,
      partitions: 0,
      storms: 0,
      syncs: 0,
      rejected: 0,
      infractions: 0,
      restarts: 0,
      consensusRequests: 0,
      requestTimeouts: 0,
      txsCommitted: 0,
      evidenceCommitted: 0,
      slashed: 0,
    };
    // Seeds from 1 on, until every kind has happened (at least 30 seeds, at most 70: invalid-vote first at 64).
    const done = (): boolean =>
      Object.values(actions).length === 16 &&
      Object.values(actions).every((n) => n > 0) &&
      Object.values(totals).every((n) => n > 0);
    // The fault model itself: every kind mixed (swarm testing and the adversary are adversary.test.ts's).
    for (let seed = 1; seed <= 70 && (seed <= 30 || !done()); seed++) {
      const r = await runSimulation({ seed, signatures: 'fast', swarm: false, adversary: false });
      // A forger is drawn by swarm testing alone (attacks.test.ts runs one).
      for (const [k, n] of Object.entries(r.stats.byzantineActions))
        if (k !== 'forge-block') actions[k] = (actions[k] ?? 0) + n;
      totals.crashes += r.stats.crashes;
      totals.restarts += r.stats.restarts;
      totals.partitions += r.stats.partitions;
      totals.storms += r.stats.storms;
      totals.syncs += r.stats.syncs;
      totals.rejected += r.stats.gossipRejected;
      totals.infractions += r.stats.infractions;
      totals.consensusRequests += r.stats.requests.consensus;
      totals.requestTimeouts += r.stats.requestTimeouts;
      totals.txsCommitted += r.stats.txs.committed;
      totals.evidenceCommitted += r.stats.punishments.evidenceCommitted;
      totals.slashed += r.punishments.length;
    }
    for (const [k, n] of Object.entries(actions)) expect(n, k).toBeGreaterThan(0);
    for (const [k, n] of Object.entries(totals)) expect(n, k).toBeGreaterThan(0);
  }, 600_000);

  it('maxByzantineCount takes the smallest powers', () => {
    expect(maxByzantineCount([10, 10, 10, 10])).toBe(1);
    expect(maxByzantineCount([10, 10, 10])).toBe(0);
    expect(maxByzantineCount([1, 1, 1, 20])).toBe(3);
  });
});

describe('rng and event queue', () => {
  it('Rng is a pure function of its seed', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(new Rng(8).u32()).not.toBe(xs[0]);
    const r = new Rng(1);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(3, 9);
      expect(n >= 3 && n <= 9).toBe(true);
    }
  });

  it('EventQueue runs by time, then by scheduling order, and skips cancelled events', () => {
    const q = new EventQueue();
    const out: string[] = [];
    q.schedule(5, () => out.push('b'));
    q.schedule(1, () => out.push('a'));
    q.schedule(5, () => out.push('c'));
    const x = q.schedule(3, () => out.push('x'));
    x.cancelled = true;
    while (q.step()) {}
    expect(out).toEqual(['a', 'b', 'c']);
    expect(q.now).toBe(5);
  });
});
