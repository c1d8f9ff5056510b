import { addressFromPublicKey, keyPairFromSeed, sign } from '@synod/crypto';
import {
  type Commit,
  commitProblem,
  hasMoreThanOneThird,
  hasTwoThirdsMajority,
  type ValidatorSet,
  voteSignBytes,
} from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FUTURE_ROUND_QUOTA, type Threshold, VoteKeeper, type VoteType } from '../../src/index.js';

describe('quorum rule: the one of @synod/types, exact above 2^53 total power', () => {
  // Three validators with real keys; a commit of block B at (height 7, round 2) signed by a subset.
  const CHAIN = 'big-power';
  const keys = [1, 2, 3].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));
  const blockHash = new Uint8Array(32).fill(0xb);
  const signatures = keys.map((k) =>
    sign(
      k,
      voteSignBytes(CHAIN, {
        type: 'precommit',
        height: 7,
        round: 2,
        blockHash,
        validatorAddress: addressFromPublicKey(k.publicKey),
      }),
    ),
  );
  // Built directly: makeValidatorSet caps totals far below 2^53 (the rule must not depend on that cap).
  const setOf = (powers: readonly number[]): ValidatorSet =>
    ({
      validators: keys.map((k, i) => ({
        address: addressFromPublicKey(k.publicKey),
        pubKey: k.publicKey,
        votingPower: powers[i] as number,
        proposerPriority: 0n,
      })),
    }) as unknown as ValidatorSet;
  const commitOf = (voters: readonly number[]): Commit => ({
    height: 7,
    round: 2,
    blockHash,
    signatures: keys.map((_, i) =>
      voters.includes(i)
        ? { flag: 'commit' as const, signature: signatures[i] as Uint8Array }
        : { flag: 'absent' as const, signature: new Uint8Array(64) },
    ),
  });
  /** The keeper's verdict on a precommit quorum for B from `voters`, and commitProblem's. */
  const verdicts = (powers: readonly number[], voters: readonly number[]) => {
    const keeper = new VoteKeeper<number>(powers);
    for (const i of voters) keeper.addVote('precommit', 2, i, 'B', i);
    return {
      keeper: keeper.hasQuorumFor(2, 'precommit', 'B'),
      commit: commitProblem(CHAIN, setOf(powers), commitOf(voters)) === undefined,
    };
  };
  const SUBSETS = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];

  it('at the exact boundary of a 2^54 total: the least quorum is one, one less is not', () => {
    const T = 2n ** 54n;
    const q = (2n * T) / 3n + 1n; // 12009599006321323, above 2^53
    const a = Number.MAX_SAFE_INTEGER;
    const b = Number(q - BigInt(a));
    const powers = [a, b, Number(T - q)];
    expect(powers.reduce((x, y) => x + BigInt(y), 0n)).toBe(T);
    expect(verdicts(powers, [0, 1])).toEqual({ keeper: true, commit: true });
    const less = [a, b - 1, Number(T - q) + 1];
    expect(verdicts(less, [0, 1])).toEqual({ keeper: false, commit: false });
    const keeper = new VoteKeeper<number>(powers);
    expect(keeper.totalPower).toBe(T);
  });

  it('agrees with commitProblem for any safe-integer powers and any set of voters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { minLength: 3, maxLength: 3 }),
        (powers) => {
          for (const voters of SUBSETS) {
            const v = verdicts(powers, voters);
            expect(v.keeper).toBe(v.commit);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("fires the skip (f+1) and quorum thresholds by @synod/types' hasMoreThanOneThird / hasTwoThirdsMajority", () => {
    const powers = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 3];
    const total = 2n * BigInt(Number.MAX_SAFE_INTEGER) + 3n;
    const k = new VoteKeeper<number>(powers);
    const r = k.addVote('prevote', 1, 0, null, 0);
    expect(r.status === 'added' && r.thresholds).toEqual(
      hasMoreThanOneThird(BigInt(Number.MAX_SAFE_INTEGER), total) ? [{ kind: 'skip', round: 1 }] : [],
    );
    k.addVote('prevote', 1, 2, null, 2);
    expect(k.hasQuorumAny(1, 'prevote')).toBe(
      hasTwoThirdsMajority(BigInt(Number.MAX_SAFE_INTEGER) + 3n, total),
    );
    expect(k.hasQuorumAny(1, 'prevote')).toBe(false);
    k.addVote('prevote', 1, 1, null, 1);
    expect(k.hasQuorumFor(1, 'prevote', null)).toBe(true);
  });
});

const VALUES = ['A', 'B', 'C', null] as const;
const voteArb = fc.record({
  validator: fc.nat({ max: 6 }),
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
  it('counts each validator once per (round, type) for "any" and each kept vote for its value; keeps first votes, first conflicts and further votes for backed values; fires each threshold once, exactly when crossed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
        fc.array(voteArb, { maxLength: 120 }),
        (powers, votes) => {
          const keeper = new VoteKeeper<number>(powers);
          keeper.setRound(2); // no round above the current one here: the quota has its own tests
          const total = powers.reduce((a, b) => a + b, 0);
          expect(keeper.totalPower).toBe(BigInt(total));
          const first = new Map<string, (typeof VALUES)[number]>(); // validator/round/type → first value
          const conflicts = new Set<string>(); // validator/round/type with a first conflict kept
          const all = new Set<string>(); // validator/round/type/value: every kept vote
          const fired = new Set<string>();
          const sent = new Map<number, Set<number>>();
          /** Some kept vote of (round, type) names `value`. */
          const backed = (round: number, type: VoteType, value: (typeof VALUES)[number]): boolean =>
            [...all].some((k) => {
              const [, ro, ty, val] = k.split('/');
              return Number(ro) === round && ty === type && val === String(value);
            });
          votes.forEach((v, i) => {
            const slot = `${v.validator}/${v.round}/${v.type}`;
            const voteKey = `${slot}/${v.value}`;
            const expected =
              v.validator >= powers.length
                ? 'unknown-validator'
                : all.has(voteKey)
                  ? 'duplicate'
                  : !first.has(slot)
                    ? 'added'
                    : !conflicts.has(slot) || backed(v.round, v.type, v.value)
                      ? 'conflict'
                      : 'dropped';
            expect(keeper.admitsVote(v.type, v.round, v.validator, v.value)).toBe(
              expected === 'added' || expected === 'conflict',
            );
            const r = keeper.addVote(v.type, v.round, v.validator, v.value, i);
            expect(r.status).toBe(expected);
            if (r.status === 'conflict') {
              expect(r.report).toBe(!conflicts.has(slot));
              conflicts.add(slot);
            }
            if (r.status === 'added') first.set(slot, v.value);
            if (r.status !== 'added' && r.status !== 'conflict') return;
            all.add(voteKey);
            expect(keeper.votesHeld).toBe(all.size);
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
              expect(fired.has(k), k).toBe(3 * valuePower(v.type, value) > 2 * total);
            }
            expect(fired.has(`any/${v.type}/${v.round}`)).toBe(3 * anyPower(v.type) > 2 * total);
            const senderPower = [...senders].reduce((a, s) => a + (powers[s] as number), 0);
            expect(fired.has(`skip/${v.round}`)).toBe(3 * senderPower > total);
            expect(keeper.powerFor(v.round, v.type, v.value)).toBe(BigInt(valuePower(v.type, v.value)));
            expect(keeper.powerAny(v.round, v.type)).toBe(BigInt(anyPower(v.type)));
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
    // A third value nobody else voted for: dropped (not kept, not counted, not evidence again).
    expect(k.admitsVote('prevote', 0, 2, 'B')).toBe(false);
    expect(k.addVote('prevote', 0, 2, 'B', 'b')).toEqual({ status: 'dropped' });
    expect(k.powerFor(0, 'prevote', 'B')).toBe(0n);
    // Once another validator votes B, validator 2's vote for B is taken and counts.
    expect(k.addVote('prevote', 0, 1, 'B', '1-b')).toMatchObject({ status: 'added' });
    expect(k.admitsVote('prevote', 0, 2, 'B')).toBe(true);
    expect(k.addVote('prevote', 0, 2, 'B', 'b')).toMatchObject({ status: 'conflict', report: false });
    expect(k.addVote('prevote', 0, 2, 'B', 'b')).toEqual({ status: 'duplicate' });
    expect(k.admitsVote('prevote', 0, 2, 'B')).toBe(false);
    expect(k.addVote('precommit', 0, 2, 'B', 'b')).toMatchObject({ status: 'added' });
    expect(k.powerFor(0, 'prevote', 'A')).toBe(1n);
    expect(k.powerFor(0, 'prevote', null)).toBe(1n);
    expect(k.powerFor(0, 'prevote', 'B')).toBe(2n);
    expect(k.powerAny(0, 'prevote')).toBe(2n);
    expect(k.vote(0, 'prevote', 2)).toEqual({ valueId: 'A', signed: 'a' });
    expect(k.votes(0, 'precommit')[2]).toEqual({ valueId: 'B', signed: 'b' });
    expect(k.votesFor(0, 'prevote', 'B').map((v) => v?.signed)).toEqual([undefined, '1-b', 'b', undefined]);
    expect(k.votesFor(0, 'prevote', null).map((v) => v?.signed)).toEqual([
      undefined,
      '1-b',
      'nil',
      undefined,
    ]);
    expect(k.votesHeld).toBe(5);
    expect(k.roundsSeen()).toEqual([0]);
  });

  it('a flood of 20,000 distinct conflicting votes from one validator keeps a bounded number of votes and reports the evidence once', () => {
    const n = 100;
    const k = new VoteKeeper<string>(Array.from({ length: n }, () => 1));
    // Honest validators 0..49 vote A, 50..59 vote nil: the flooder may join those values, nothing else.
    for (let i = 0; i < 50; i++) k.addVote('prevote', 3, i, 'A', `${i}-A`);
    for (let i = 50; i < 60; i++) k.addVote('prevote', 3, i, null, `${i}-nil`);
    const before = k.votesHeld;
    const statuses = new Map<string, number>();
    let reports = 0;
    for (let j = 0; j < 20_000; j++) {
      const value = j === 5_000 ? 'A' : j === 7_000 ? null : `X${j}`;
      const r = k.addVote('prevote', 3, 99, value, `99-${j}`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 'conflict' && r.report) reports++;
    }
    expect(reports).toBe(1);
    // First vote X0, first conflict X1 (the evidence), and its votes for the backed values A and nil.
    expect(Object.fromEntries(statuses)).toEqual({ added: 1, conflict: 3, dropped: 19_996 });
    expect(k.votesHeld - before).toBe(4);
    expect(k.powerFor(3, 'prevote', 'A')).toBe(51n);
    expect(k.powerFor(3, 'prevote', null)).toBe(11n);
    expect(k.powerFor(3, 'prevote', 'X1')).toBe(1n);
    expect(k.powerFor(3, 'prevote', 'X2')).toBe(0n);
    expect(k.powerAny(3, 'prevote')).toBe(61n);
    // Repeating the flood changes nothing.
    for (let j = 0; j < 20_000; j++) k.addVote('prevote', 3, 99, `X${j}`, `99-${j}-again`);
    expect(k.votesHeld - before).toBe(4);
  });

  it('however all validators equivocate, a (round, type) holds at most 2 values per validator and one vote per (validator, value)', () => {
    const n = 10;
    const k = new VoteKeeper<number>(Array.from({ length: n }, () => 1));
    for (let j = 0; j < 200; j++)
      for (let i = 0; i < n; i++) k.addVote('precommit', 0, i, `V${(i * 7 + j) % 1000}`, j);
    // Values: each validator brings two (first vote, first conflict), 20 in all; each validator may
    // then vote each of them once: at most 20 votes per validator.
    expect(k.votesHeld).toBeLessThanOrEqual(n * 2 * n);
    expect(k.votesHeld).toBeGreaterThan(2 * n);
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
    expect(k.powerAny(5, 'prevote')).toBe(3n);
    // A commit of B takes the equivocator's vote for B, not its first vote.
    expect(k.votesFor(5, 'prevote', 'B').map((v) => v?.signed)).toEqual(['0-B', '1-B', undefined, '3-B']);
    expect(k.votesFor(5, 'prevote', 'C').map((v) => v?.signed)).toEqual(['0-B', '1-B', undefined, '3-nil']);
  });

  it('a proposal sender counts toward the round skip, once', () => {
    const k = new VoteKeeper<string>([10, 10, 10, 10]);
    expect(k.addProposal(3, 1)).toEqual([]);
    expect(k.addProposal(3, 1)).toEqual([]);
    expect(k.addVote('prevote', 3, 1, null, 'x')).toEqual({ status: 'added', thresholds: [] });
    expect(k.addVote('precommit', 3, 2, null, 'y')).toEqual({
      status: 'added',
      thresholds: [{ kind: 'skip', round: 3 }],
    });
    expect(k.senderPower(3)).toBe(20n);
    expect(k.addProposal(3, 7)).toEqual([]);
  });

  it('rounds above the current one: each validator holds at most its quota of messages, freed as the round moves up', () => {
    const n = 100;
    const k = new VoteKeeper<number>(Array.from({ length: n }, () => 1));
    const { messages, proposals } = DEFAULT_FUTURE_ROUND_QUOTA;
    // Validator 7: one precommit per round for rounds 1…10,000 while the node is at round 0.
    const statuses = new Map<string, number>();
    for (let r = 1; r <= 10_000; r++) {
      const st = k.addVote('precommit', r, 7, null, r).status;
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ added: messages, 'over-quota': 10_000 - messages });
    expect(k.futureHeld(7)).toBe(messages);
    expect(k.futureHeld()).toBe(messages);
    expect(k.votesHeld).toBe(messages);
    expect(k.roundsSeen()).toHaveLength(messages);
    expect(k.admitsVote('precommit', 500, 7, null)).toBe(false);
    // Its conflicting votes in the rounds it holds count against the same quota.
    expect(k.addVote('precommit', 1, 7, 'X', 0)).toEqual({ status: 'over-quota' });
    expect(k.admitsProposal(3, 7)).toBe(false);
    expect(k.addProposal(3, 7)).toBeUndefined();
    // Other validators have their own quota; the current round and rounds below it have none.
    expect(k.addVote('prevote', 500, 8, null, 0).status).toBe('added');
    expect(k.futureHeld(8)).toBe(1);
    // The node enters round 6: validator 7's messages of rounds 1…6 no longer count.
    k.setRound(6);
    expect(k.futureHeld(7)).toBe(messages - 6);
    expect(k.addVote('precommit', 6, 7, 'Y', 0).status).toBe('conflict'); // round 6 is current: no quota
    for (let r = 20; r < 40; r++) k.addVote('precommit', r, 7, null, r);
    expect(k.futureHeld(7)).toBe(messages);
    expect(k.roundsSeen()).toHaveLength(messages + 6 + 1);
    // Proposals: at most `proposals` of a validator's held messages.
    k.setRound(10_000);
    expect(k.futureHeld()).toBe(0);
    for (let r = 10_001; r < 10_010; r++) k.addProposal(r, 3);
    expect(k.futureHeld(3)).toBe(proposals);
    expect(k.addVote('prevote', 10_005, 3, null, 0).status).toBe('added');
  });

  it('a round skip (f+1) still fires with a flooder holding its whole quota', () => {
    const k = new VoteKeeper<number>([10, 10, 10, 10]);
    for (let r = 1; r <= 1_000; r++) k.addVote('prevote', r, 0, null, r);
    // Validator 0 holds rounds 1…16: with validator 1, round 3 has more than 1/3 of the power.
    expect(k.addVote('prevote', 3, 1, null, 0)).toEqual({
      status: 'added',
      thresholds: [{ kind: 'skip', round: 3 }],
    });
    // A round beyond the flooder's: two honest validators are enough.
    expect(k.addVote('precommit', 700, 1, null, 0)).toEqual({ status: 'added', thresholds: [] });
    expect(k.addVote('prevote', 700, 2, null, 0)).toEqual({
      status: 'added',
      thresholds: [{ kind: 'skip', round: 700 }],
    });
  });

  it('sparse storage: one vote in each of 10,000 rounds below the current one is held and read back, at 4 or 1,000 validators', () => {
    for (const n of [4, 1_000]) {
      const k = new VoteKeeper<number>(Array.from({ length: n }, () => 1));
      k.setRound(10_000);
      for (let r = 0; r < 10_000; r++) k.addVote('precommit', r, 1, null, r);
      expect(k.votesHeld).toBe(10_000);
      expect(k.roundsSeen()).toHaveLength(10_000);
      expect(k.votes(9_999, 'precommit')).toHaveLength(n);
      expect(k.votes(9_999, 'precommit')[1]).toEqual({ valueId: null, signed: 9_999 });
    }
  });

  it('rejects invalid powers', () => {
    expect(() => new VoteKeeper([1, 0])).toThrow(RangeError);
    expect(() => new VoteKeeper([1.5])).toThrow(RangeError);
  });
});
