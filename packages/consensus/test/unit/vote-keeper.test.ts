import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { powerThresholds, type Threshold, VoteKeeper, type VoteType } from '../../src/index.js';

describe('quorum math', () => {
  it('quorum is the least power above 2/3 of the total; oneThird the least above 1/3', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (total) => {
        const { quorum, oneThird } = powerThresholds(total);
        const t = BigInt(total);
        expect(3n * BigInt(quorum) > 2n * t).toBe(true);
        expect(3n * BigInt(quorum - 1) > 2n * t).toBe(false);
        expect(3n * BigInt(oneThird) > t).toBe(true);
        expect(3n * BigInt(oneThird - 1) > t).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('known values', () => {
    expect(powerThresholds(4)).toEqual({ total: 4, quorum: 3, oneThird: 2 });
    expect(powerThresholds(40)).toEqual({ total: 40, quorum: 27, oneThird: 14 });
    expect(powerThresholds(100)).toEqual({ total: 100, quorum: 67, oneThird: 34 });
    expect(powerThresholds(3)).toEqual({ total: 3, quorum: 3, oneThird: 2 });
    expect(powerThresholds(1)).toEqual({ total: 1, quorum: 1, oneThird: 1 });
    expect(() => powerThresholds(0)).toThrow(RangeError);
  });
});

const VALUES = ['A', 'B', null] as const;
const voteArb = fc.record({
  validator: fc.nat({ max: 9 }),
  round: fc.nat({ max: 2 }),
  type: fc.constantFrom<VoteType>('prevote', 'precommit'),
  value: fc.constantFrom(...VALUES),
});

const key = (t: Threshold): string =>
  t.kind === 'skip'
    ? `skip/${t.round}`
    : t.kind === 'quorum-any'
      ? `any/${t.type}/${t.round}`
      : `v/${t.type}/${t.round}/${t.valueId}`;

describe('VoteKeeper', () => {
  it('counts each validator once per (round, type) for "any" and once per value for that value; fires each threshold once, exactly when crossed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 }),
        fc.array(voteArb, { maxLength: 120 }),
        (powers, votes) => {
          const keeper = new VoteKeeper<number>(powers);
          const { quorum, oneThird, total } = keeper.thresholds;
          const first = new Map<string, (typeof VALUES)[number]>(); // validator/round/type → first value
          const all = new Set<string>(); // validator/round/type/value: every distinct vote
          const fired = new Set<string>();
          const sent = new Map<number, Set<number>>();
          votes.forEach((v, i) => {
            const r = keeper.addVote(v.type, v.round, v.validator, v.value, i);
            const slot = `${v.validator}/${v.round}/${v.type}`;
            const voteKey = `${slot}/${v.value}`;
            if (v.validator >= powers.length) {
              expect(r.status).toBe('unknown-validator');
              return;
            }
            if (all.has(voteKey)) {
              expect(r.status).toBe('duplicate');
              return;
            }
            all.add(voteKey);
            if (first.has(slot)) {
              expect(r.status).toBe('conflict');
            } else {
              expect(r.status).toBe('added');
              first.set(slot, v.value);
            }
            if (r.status !== 'added' && r.status !== 'conflict') return;
            const senders = sent.get(v.round) ?? new Set<number>();
            sent.set(v.round, senders.add(v.validator));
            for (const t of r.thresholds) {
              expect(fired.has(key(t)), `fired twice: ${key(t)}`).toBe(false);
              fired.add(key(t));
            }
            // What should have fired by now, recomputed from the model.
            const valuePower = (type: VoteType, value: (typeof VALUES)[number]) => {
              let p = 0;
              for (const k of all) {
                const [vi, ro, ty, val] = k.split('/');
                if (Number(ro) === v.round && ty === type && val === String(value))
                  p += powers[Number(vi)] as number;
              }
              return p;
            };
            const anyPower = (type: VoteType) => {
              let p = 0;
              for (const s of first.keys()) {
                const [vi, ro, ty] = s.split('/');
                if (Number(ro) === v.round && ty === type) p += powers[Number(vi)] as number;
              }
              return p;
            };
            for (const value of VALUES) {
              const k = `v/${v.type}/${v.round}/${value}`;
              expect(fired.has(k), k).toBe(valuePower(v.type, value) >= quorum);
              if (fired.has(k)) expect(3 * valuePower(v.type, value) > 2 * total).toBe(true);
            }
            expect(fired.has(`any/${v.type}/${v.round}`)).toBe(anyPower(v.type) >= quorum);
            const senderPower = [...senders].reduce((a, s) => a + (powers[s] as number), 0);
            expect(fired.has(`skip/${v.round}`)).toBe(senderPower >= oneThird);
            expect(keeper.powerFor(v.round, v.type, v.value)).toBe(valuePower(v.type, v.value));
            expect(keeper.powerAny(v.round, v.type)).toBe(anyPower(v.type));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports a conflict once per validator and (round, type); the conflicting vote still counts for its value', () => {
    const k = new VoteKeeper<string>([1, 1, 1, 1]);
    expect(k.addVote('prevote', 0, 2, 'A', 'a')).toEqual({
      status: 'added',
      thresholds: [],
    });
    expect(k.addVote('prevote', 0, 2, 'A', 'a2')).toEqual({ status: 'duplicate' });
    expect(k.addVote('prevote', 0, 2, null, 'nil')).toEqual({
      status: 'conflict',
      first: { valueId: 'A', signed: 'a' },
      report: true,
      thresholds: [],
    });
    expect(k.addVote('prevote', 0, 2, null, 'nil2')).toEqual({ status: 'duplicate' });
    expect(k.addVote('prevote', 0, 2, 'B', 'b')).toMatchObject({ status: 'conflict', report: false });
    expect(k.addVote('precommit', 0, 2, 'B', 'b')).toMatchObject({ status: 'added' });
    expect(k.powerFor(0, 'prevote', 'A')).toBe(1);
    expect(k.powerFor(0, 'prevote', null)).toBe(1);
    expect(k.powerFor(0, 'prevote', 'B')).toBe(1);
    expect(k.powerAny(0, 'prevote')).toBe(1);
    expect(k.vote(0, 'prevote', 2)).toEqual({ valueId: 'A', signed: 'a' });
    expect(k.votes(0, 'precommit')[2]).toEqual({ valueId: 'B', signed: 'b' });
    expect(k.roundsSeen()).toEqual([0]);
  });

  it("an equivocator's second vote completes a value quorum that its first vote did not join", () => {
    // The case the simulator found: validator 3 prevotes nil to this node and B to the others.
    const k = new VoteKeeper<string>([1, 1, 1, 1]);
    expect(k.addVote('prevote', 5, 3, null, '3-nil').status).toBe('added');
    expect(k.addVote('prevote', 5, 0, 'B', '0-B').status).toBe('added');
    expect(k.addVote('prevote', 5, 1, 'B', '1-B')).toEqual({
      status: 'added',
      thresholds: [{ kind: 'quorum-any', type: 'prevote', round: 5 }],
    });
    expect(k.hasQuorumFor(5, 'prevote', 'B')).toBe(false);
    expect(k.addVote('prevote', 5, 3, 'B', '3-B')).toEqual({
      status: 'conflict',
      first: { valueId: null, signed: '3-nil' },
      report: true,
      thresholds: [{ kind: 'quorum-value', type: 'prevote', round: 5, valueId: 'B' }],
    });
    expect(k.hasQuorumFor(5, 'prevote', 'B')).toBe(true);
    expect(k.powerAny(5, 'prevote')).toBe(3);
    // A commit of B takes the equivocator's vote for B, not its first vote.
    expect(k.votesFor(5, 'prevote', 'B').map((v) => v?.signed)).toEqual(['0-B', '1-B', undefined, '3-B']);
    expect(k.votesFor(5, 'prevote', 'C').map((v) => v?.signed)).toEqual(['0-B', '1-B', undefined, '3-nil']);
  });

  it('a proposal sender counts toward the round skip, once', () => {
    const k = new VoteKeeper<string>([10, 10, 10, 10]);
    expect(k.addSender(3, 1)).toEqual([]);
    expect(k.addSender(3, 1)).toEqual([]);
    expect(k.addVote('prevote', 3, 1, null, 'x')).toEqual({ status: 'added', thresholds: [] });
    expect(k.addVote('precommit', 3, 2, null, 'y')).toEqual({
      status: 'added',
      thresholds: [{ kind: 'skip', round: 3 }],
    });
    expect(k.senderPower(3)).toBe(20);
    expect(k.addSender(3, 7)).toEqual([]);
  });

  it('rejects invalid powers', () => {
    expect(() => new VoteKeeper([1, 0])).toThrow(RangeError);
    expect(() => new VoteKeeper([1.5])).toThrow(RangeError);
  });
});
