import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advanceValidatorSet,
  applyValidatorChanges,
  incrementProposerPriority,
  newValidatorSetPriorities,
  type PriorityValidator,
  ProposerSchedule,
  proposerIndex,
  ValidatorSetUpdateError,
} from '../../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function v(name: string | Uint8Array, votingPower: number, proposerPriority = 0n): PriorityValidator {
  return { address: typeof name === 'string' ? enc.encode(name) : name, votingPower, proposerPriority };
}

function name(x: PriorityValidator): string {
  return dec.decode(x.address);
}

function addr(last: number): Uint8Array {
  const a = new Uint8Array(20);
  a[19] = last;
  return a;
}

/** CometBFT's test loop: GetProposer, then IncrementProposerPriority(1), repeatedly. */
function cometSequence(validators: readonly PriorityValidator[], count: number): number[] {
  let step = incrementProposerPriority(newValidatorSetPriorities(validators), 1); // NewValidatorSet
  const out = [step.proposer];
  while (out.length < count) {
    step = incrementProposerPriority(step.validators, 1);
    out.push(step.proposer);
  }
  return out;
}

describe("proposer selection: CometBFT's published sequences", () => {
  // types/validator_set_test.go, TestProposerSelection1
  const expected1 =
    'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar' +
    ' foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar' +
    ' foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz' +
    ' foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo' +
    ' foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo';
  const set1 = newValidatorSetPriorities([v('foo', 1000), v('bar', 300), v('baz', 330)]);

  it('TestProposerSelection1, calling IncrementProposerPriority(1) 99 times', () => {
    const seq = cometSequence(set1, 99).map((i) => name(set1[i] as PriorityValidator));
    expect(seq.join(' ')).toBe(expected1);
  });

  it('TestProposerSelection1 as the rounds of one height (ProposerSchedule)', () => {
    const s = new ProposerSchedule(set1);
    const seq = Array.from({ length: 99 }, (_, r) => name(set1[s.proposer(r)] as PriorityValidator));
    expect(seq.join(' ')).toBe(expected1);
  });

  it('TestProposerSelection1 as round 0 of successive heights (advanceValidatorSet)', () => {
    let set = set1;
    const seq: string[] = [];
    for (let h = 1; h <= 99; h++) {
      seq.push(name(set[proposerIndex(set, 0)] as PriorityValidator));
      set = advanceValidatorSet(set);
    }
    expect(seq.join(' ')).toBe(expected1);
  });

  it('TestProposerSelection2: equal power goes in address order', () => {
    const set = newValidatorSetPriorities([v(addr(0), 100), v(addr(1), 100), v(addr(2), 100)]);
    expect(cometSequence(set, 15)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });

  it('TestProposerSelection2: 400 vs 100, 100 proposes once, then the smallest address', () => {
    const set = newValidatorSetPriorities([v(addr(0), 100), v(addr(1), 100), v(addr(2), 400)]);
    expect(cometSequence(set, 2)).toEqual([2, 0]);
  });

  it('TestProposerSelection2: 401 vs 100, 100 proposes twice in a row', () => {
    const set = newValidatorSetPriorities([v(addr(0), 100), v(addr(1), 100), v(addr(2), 401)]);
    expect(cometSequence(set, 3)).toEqual([2, 2, 0]);
  });

  it('TestProposerSelection2: powers 4, 5, 3 propose 40, 50, 30 times in 120 runs', () => {
    const set = newValidatorSetPriorities([v(addr(0), 4), v(addr(1), 5), v(addr(2), 3)]);
    const counts = [0, 0, 0];
    for (const p of cometSequence(set, 120)) counts[p] = (counts[p] as number) + 1;
    expect(counts).toEqual([40, 50, 30]);
  });

  it('the spec example: p1 = 1, p2 = 3 gives p2, p1, p2, p2 repeated', () => {
    const set = newValidatorSetPriorities([v('p1', 1), v('p2', 3)]);
    const seq = cometSequence(set, 12).map((i) => name(set[i] as PriorityValidator));
    expect(seq).toEqual(['p2', 'p1', 'p2', 'p2', 'p2', 'p1', 'p2', 'p2', 'p2', 'p1', 'p2', 'p2']);
  });

  it('TestAveragingInIncrementProposerPriorityWithVotingPower', () => {
    const [vp0, vp1, vp2] = [10n, 1n, 1n];
    const total = vp0 + vp1 + vp2;
    const base = [v(new Uint8Array([0]), 10), v(new Uint8Array([1]), 1), v(new Uint8Array([2]), 1)];
    const cases: [times: number, prios: bigint[], proposer: number][] = [
      [1, [vp0 - total, vp1, vp2], 0],
      [2, [2n * (vp0 - total), 2n * vp1, 2n * vp2], 0],
      [3, [3n * (vp0 - total), 3n * vp1, 3n * vp2], 0],
      [4, [4n * (vp0 - total), 4n * vp1, 4n * vp2], 0],
      [5, [4n * (vp0 - total) + vp0, 5n * vp1 - total, 5n * vp2], 1],
      [6, [6n * vp0 - 5n * total, 6n * vp1 - total, 6n * vp2], 0],
      [7, [7n * vp0 - 6n * total, 7n * vp1 - total, 7n * vp2], 0],
      [8, [8n * vp0 - 7n * total, 8n * vp1 - total, 8n * vp2], 0],
      [9, [9n * vp0 - 7n * total, 9n * vp1 - total, 9n * vp2 - total], 2],
      [10, [10n * vp0 - 8n * total, 10n * vp1 - total, 10n * vp2 - total], 0],
      [11, [11n * vp0 - 9n * total, 11n * vp1 - total, 11n * vp2 - total], 0],
    ];
    for (const [times, prios, proposer] of cases) {
      const r = incrementProposerPriority(base, times);
      expect(r.proposer, `times ${times}`).toBe(proposer);
      expect(
        r.validators.map((x) => x.proposerPriority),
        `times ${times}`,
      ).toEqual(prios);
    }
  });

  it('TestAveragingInIncrementProposerPriority: centring subtracts the (floor) average', () => {
    const three = (a: bigint, b: bigint, c: bigint) => [v('a', 0, a), v('b', 0, b), v('c', 0, c)];
    const cases: [PriorityValidator[], number, bigint][] = [
      [three(1n, 2n, 3n), 1, 2n],
      [three(10n, -10n, 1n), 11, 0n],
      [three(100n, -10n, 1n), 1, 30n],
    ];
    for (const [set, times, avg] of cases) {
      const r = incrementProposerPriority(set, times);
      expect(r.validators.map((x) => x.proposerPriority)).toEqual(set.map((x) => x.proposerPriority - avg));
    }
    // big.Int Div is Euclidean: the average of (-13, 0, 0) is -5, not -4.
    const neg = incrementProposerPriority(three(-13n, 0n, 0n), 1);
    expect(neg.validators.map((x) => x.proposerPriority)).toEqual([-8n, 5n, 5n]);
  });

  it('int64 clipping (safeAddClip / safeSubClip)', () => {
    const max = (1n << 63n) - 1n;
    const r = incrementProposerPriority([v('a', 10, max), v('b', 10, max)], 1);
    // centring by max leaves 0, 0; +10 each; a (lower address) pays 20
    expect(r.validators.map((x) => x.proposerPriority)).toEqual([-10n, 10n]);
    expect(r.proposer).toBe(0);
  });
});

describe('validator set changes (CometBFT UpdateWithChangeSet)', () => {
  it('a new set starts at priority 0 for everyone, sorted by address', () => {
    const set = newValidatorSetPriorities([v('v2', 20), v('v1', 10)]);
    expect(set.map(name)).toEqual(['v1', 'v2']);
    expect(set.map((x) => x.proposerPriority)).toEqual([0n, 0n]);
  });

  it('a newcomer starts at -1.125 × the total power (before centring)', () => {
    // p1 = 1 and p2 = 3 at priorities 2 and -2; adding p3 = 8: -(12 + 12 >> 3) = -13,
    // then centring by floor((2 - 2 - 13) / 3) = -5.
    const set = applyValidatorChanges([v('p1', 1, 2n), v('p2', 3, -2n)], [v('p3', 8)]);
    expect(set.map((x) => [name(x), x.proposerPriority])).toEqual([
      ['p1', 7n],
      ['p2', 3n],
      ['p3', -8n],
    ]);
  });

  it('keeps the priority of an updated validator, removes power-0 entries', () => {
    const start = [v('v1', 10, 5n), v('v2', 10, -5n), v('v3', 10, 0n)];
    const set = applyValidatorChanges(start, [v('v2', 0), v('v1', 30)]);
    // v1 keeps 5, v3 keeps 0; centring subtracts floor(5 / 2) = 2
    expect(set.map((x) => [name(x), x.votingPower, x.proposerPriority])).toEqual([
      ['v1', 30, 3n],
      ['v3', 10, -2n],
    ]);
  });

  it('rejects what CometBFT rejects, leaving the input untouched', () => {
    const start = [v('v1', 10), v('v2', 10)];
    const problem = (changes: PriorityValidator[]) => {
      try {
        applyValidatorChanges(start, changes);
        return 'none';
      } catch (e) {
        expect(e).toBeInstanceOf(ValidatorSetUpdateError);
        return (e as ValidatorSetUpdateError).problem;
      }
    };
    expect(problem([v('v1', 11), v('v1', 22)])).toBe('duplicate-change');
    expect(problem([v('v1', 0), v('v2', 20), v('v1', 30)])).toBe('duplicate-change');
    expect(problem([v('v1', -123)])).toBe('negative-power');
    expect(problem([v('v3', 0)])).toBe('unknown-removal');
    expect(problem([v('v1', 0), v('v2', 0)])).toBe('empty-set');
    expect(problem([v('v3', Number.MAX_SAFE_INTEGER)])).toBe('total-power-too-large');
    expect(start.map((x) => x.proposerPriority)).toEqual([0n, 0n]);
    expect(() => newValidatorSetPriorities([v('v1', 0)])).toThrow(ValidatorSetUpdateError);
  });

  it('advanceValidatorSet = one increment, then the changes for the next height', () => {
    const set = newValidatorSetPriorities([v('a', 10), v('b', 10)]);
    expect(advanceValidatorSet(set).map((x) => x.proposerPriority)).toEqual([-10n, 10n]);
    const next = advanceValidatorSet(set, [v('c', 20)]);
    expect(next.map(name)).toEqual(['a', 'b', 'c']);
    // c starts at -(40 + 5) = -45; centred by floor((-10 + 10 - 45) / 3) = -15
    expect(next.map((x) => x.proposerPriority)).toEqual([5n, 25n, -30n]);
  });
});

const powersArb = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 });

function setOf(powers: readonly number[]): PriorityValidator[] {
  return newValidatorSetPriorities(powers.map((p, i) => v(addr(i), p)));
}

describe('proposer selection properties', () => {
  it('with equal power it is plain round-robin, across rounds and heights', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 1000 }), (n, p) => {
        let set = setOf(new Array<number>(n).fill(p));
        for (let h = 1; h <= 2 * n + 1; h++) {
          const s = new ProposerSchedule(set);
          for (let r = 0; r < 2 * n; r++) expect(s.proposer(r)).toBe((h - 1 + r) % n);
          set = advanceValidatorSet(set);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('over P runs (P = total power) everyone proposes exactly its power times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 8 }), (powers) => {
        const set = setOf(powers);
        const total = powers.reduce((a, b) => a + b, 0);
        const s = new ProposerSchedule(set);
        const counts = new Array<number>(powers.length).fill(0);
        for (let r = 0; r < total; r++) counts[s.proposer(r)] = (counts[s.proposer(r)] as number) + 1;
        expect(counts).toEqual(powers);
      }),
      { numRuns: 100 },
    );
  });

  it('one-shot rounds equal step-by-step increments, and heights equal rounds (no validator changes)', () => {
    fc.assert(
      fc.property(powersArb, fc.integer({ min: 1, max: 40 }), (powers, count) => {
        const set = setOf(powers);
        const schedule = new ProposerSchedule(set);
        expect(cometSequence(set, count)).toEqual(
          Array.from({ length: count }, (_, r) => schedule.proposer(r)),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('after any changes, priorities are centred (sum in (-n, n)) and within the 2P window', () => {
    fc.assert(
      fc.property(
        powersArb,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 1000 })), {
          maxLength: 8,
        }),
        fc.integer({ min: 1, max: 50 }),
        (powers, rawChanges, runs) => {
          let set = incrementProposerPriority(setOf(powers), runs).validators;
          const byIndex = new Map<number, number>();
          for (const [i, p] of rawChanges) if (!byIndex.has(i)) byIndex.set(i, p);
          const changes = [...byIndex]
            .filter(([i, p]) => p > 0 || i < powers.length)
            .map(([i, p]) => v(addr(i), p));
          try {
            set = applyValidatorChanges(set, changes);
          } catch (e) {
            expect((e as ValidatorSetUpdateError).problem).toBe('empty-set');
            return;
          }
          const n = BigInt(set.length);
          const sum = set.reduce((a, x) => a + x.proposerPriority, 0n);
          expect(sum > -n && sum < n).toBe(true);
          const prios = set.map((x) => x.proposerPriority);
          const sorted = [...prios].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          const [min, max] = [sorted[0] as bigint, sorted[sorted.length - 1] as bigint];
          const total = set.reduce((a, x) => a + BigInt(x.votingPower), 0n);
          expect(max - min <= 2n * total).toBe(true);
          // newcomers all start at the same priority
          const addedPrios = set
            .filter((x) => (x.address[19] as number) >= powers.length)
            .map((x) => x.proposerPriority);
          expect(new Set(addedPrios).size).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic and independent of the input order', () => {
    fc.assert(
      fc.property(powersArb, fc.integer({ min: 0, max: 30 }), (powers, round) => {
        const a = setOf(powers);
        const b = newValidatorSetPriorities([...powers.map((p, i) => v(addr(i), p))].reverse());
        expect(proposerIndex(a, round)).toBe(proposerIndex(b, round));
      }),
      { numRuns: 100 },
    );
  });
});
