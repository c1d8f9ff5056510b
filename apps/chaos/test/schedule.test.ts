import { describe, expect, it } from 'vitest';
import { describeSchedule, faultsOf, fullSchedule, quickSchedule } from '../src/schedule.js';

describe('the fault schedule', () => {
  it('is the same for the same seed and differs between seeds', () => {
    expect(describeSchedule(fullSchedule(7, 300_000))).toEqual(describeSchedule(fullSchedule(7, 300_000)));
    expect(describeSchedule(quickSchedule(7))).toEqual(describeSchedule(quickSchedule(7)));
    const many = new Set(
      Array.from({ length: 20 }, (_, s) => describeSchedule(fullSchedule(s, 300_000)).join('\n')),
    );
    expect(many.size).toBeGreaterThan(15);
  });

  it('--quick: one 1–3 partition, one kill of an honest node, one equivocator, then garbage from it', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = quickSchedule(seed);
      expect(s.topology.nodes).toBe(4);
      expect(s.phases.map((p) => p.fault.kind)).toEqual(['partition', 'kill', 'byzantine', 'byzantine']);
      const [partition, kill, byz] = s.phases.map((p) => p.fault);
      if (partition?.kind !== 'partition' || kill?.kind !== 'kill' || byz?.kind !== 'byzantine')
        throw new Error('shape');
      expect(partition.a).toHaveLength(1);
      expect(s.topology.honestValidators).toContain(partition.a[0]);
      expect(s.topology.honestValidators).toContain(kill.node);
      expect(byz).toEqual({ kind: 'byzantine', node: 3, mode: 'equivocate' });
      expect(s.phases[3]?.fault).toEqual({ kind: 'byzantine', node: 3, mode: 'garbage' });
    }
  });

  it('the full run: the Byzantine modes first, then faults on honest nodes only, fitting the duration', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = fullSchedule(seed, 300_000);
      const modes = s.phases.flatMap((p) => (p.fault.kind === 'byzantine' ? [p.fault.mode] : []));
      expect(modes).toHaveLength(4);
      expect(modes.slice(0, 2)).toEqual(['flood-votes', 'silent']);
      expect(['equivocate', 'double-propose']).toContain(modes[2]);
      expect(modes[3]).toBe('garbage');
      const rest = s.phases.slice(modes.length);
      expect(rest.length).toBeGreaterThanOrEqual(4);
      for (const f of rest.flatMap(faultsOf)) {
        expect(f.kind).not.toBe('byzantine');
        const targets =
          'node' in f
            ? [f.node]
            : f.kind === 'storm'
              ? f.nodes
              : f.kind === 'partition'
                ? [...f.a, ...f.b]
                : [];
        for (const t of targets) expect(s.topology.byzantine).not.toContain(t);
        // Jitter at most half the delay: a round trip takes at least the one-way delay.
        if (f.kind === 'latency') expect(f.jitterMs).toBeLessThanOrEqual(f.delayMs / 2);
        // Skew within the drift bound (10 s by default): at most 4 s either way.
        if (f.kind === 'clock-skew') expect(Math.abs(f.skewMs)).toBeLessThanOrEqual(4000);
      }
      const partitions = rest.filter((p) => p.fault.kind === 'partition');
      expect(partitions.length).toBeGreaterThan(0);
    }
  });

  it('the seeds pick both punishable modes', () => {
    const picked = new Set(
      Array.from({ length: 20 }, (_, seed) => fullSchedule(seed, 300_000).phases[2]?.fault).map((f) =>
        f?.kind === 'byzantine' ? f.mode : undefined,
      ),
    );
    expect(picked).toEqual(new Set(['equivocate', 'double-propose']));
  });

  it('a longer run draws every kind of fault', () => {
    const kinds = new Set(fullSchedule(3, 900_000).phases.map((p) => p.fault.kind));
    for (const k of [
      'partition',
      'isolate-proposer',
      'kill',
      'storm',
      'latency',
      'loss',
      'bandwidth',
      'pause',
      'restart',
      'clock-skew',
      'wal-truncate',
    ])
      expect(kinds).toContain(k);
  });

  it('the full run combines faults in one phase: a 2–2 partition with a kill, latency and a bandwidth limit, a Byzantine node with loss', () => {
    const lossy = new Set<string>();
    for (let seed = 0; seed < 50; seed++) {
      const s = fullSchedule(seed, 300_000);
      const combined = s.phases.filter((p) => p.with !== undefined);
      expect(combined).toHaveLength(2);
      const [byz, part] = combined;
      if (byz?.fault.kind !== 'byzantine' || part?.fault.kind !== 'partition') throw new Error('shape');
      lossy.add(byz.fault.mode);
      expect(byz.with?.map((f) => f.kind)).toEqual(['loss']);
      const loss = byz.with?.[0];
      if (loss?.kind !== 'loss') throw new Error('shape');
      expect(s.topology.honestValidators).toContain(loss.node);
      expect(part.fault.shape).toBe('2-2');
      const [kill, latency, bandwidth] = part.with ?? [];
      if (kill?.kind !== 'kill' || latency?.kind !== 'latency' || bandwidth?.kind !== 'bandwidth')
        throw new Error('shape');
      expect(part.fault.a).toContain(bandwidth.node);
      expect(bandwidth.node).not.toBe(5);
      // The kill on the side without the slowed non-validator: a witness of it stays on its side.
      expect(part.fault.b).toContain(kill.node);
      expect(part.fault.a).toContain(latency.node);
      expect(latency.node).toBe(5);
      // Printed in the schedule, every fault of the phase.
      const line = describeSchedule(s).find((l) => l.includes('partition 2-2'));
      expect(line).toMatch(
        /\(combined\): partition 2-2: .* \+ SIGKILL node\d .* \+ latency node5.* \+ bandwidth node\d/,
      );
    }
    expect(lossy).toEqual(new Set(['flood-votes', 'garbage']));
  });
});
