import { hasMoreThanOneThird, hasTwoThirdsMajority } from '@synod/types';
import type { ValueId, VoteType } from '../types.js';

/** A threshold crossed by a vote (or a proposal's sender); each fires at most once per height. */
export type Threshold =
  /** More than 2/3 of the power voted `valueId` (null = nil) in (round, type). */
  | {
      readonly kind: 'quorum-value';
      readonly type: VoteType;
      readonly round: number;
      readonly valueId: ValueId | null;
    }
  /** More than 2/3 of the power voted anything in (round, type). */
  | { readonly kind: 'quorum-any'; readonly type: VoteType; readonly round: number }
  /** Messages from more than 1/3 of the power in `round` (the paper's L55). */
  | { readonly kind: 'skip'; readonly round: number };

export interface KeptVote<S> {
  readonly valueId: ValueId | null;
  readonly signed: S;
}

export type AddVoteResult<S> =
  | { readonly status: 'added'; readonly thresholds: readonly Threshold[] }
  /** The same vote again: ignored. */
  | { readonly status: 'duplicate' }
  /**
   * A second, different vote of one validator for the same (round, type): the
   * validator equivocated. `first` is its first vote (the one that counts for
   * "any" thresholds and is returned by `vote()`); `report` is true the first
   * time this validator equivocates in this (round, type). The vote still
   * counts toward its own value (the paper counts 2f+1 ⟨PREVOTE, h, r, id(v)⟩
   * messages, whoever else they conflict with), so `thresholds` may hold a
   * `quorum-value` it crossed.
   */
  | {
      readonly status: 'conflict';
      readonly first: KeptVote<S>;
      readonly report: boolean;
      readonly thresholds: readonly Threshold[];
    }
  | { readonly status: 'unknown-validator' };

const NONE: readonly Threshold[] = Object.freeze([]);

class Tally<S> {
  /** Each validator's first vote: counts toward "any" and toward its value. */
  readonly votes: (KeptVote<S> | undefined)[];
  readonly conflicted: Uint8Array;
  /** Equivocators' further votes, one per distinct value: each counts toward its value only. */
  readonly extra = new Map<number, KeptVote<S>[]>();
  readonly byValue = new Map<ValueId | null, bigint>();
  readonly fired = new Set<ValueId | null>();
  total = 0n;
  firedAny = false;
  constructor(n: number) {
    this.votes = new Array<KeptVote<S> | undefined>(n);
    this.conflicted = new Uint8Array(n);
  }
}

class RoundVotes<S> {
  readonly prevote: Tally<S>;
  readonly precommit: Tally<S>;
  readonly sent: Uint8Array;
  senderPower = 0n;
  skipFired = false;
  constructor(n: number) {
    this.prevote = new Tally(n);
    this.precommit = new Tally(n);
    this.sent = new Uint8Array(n);
  }
}

/**
 * The votes of one height. Counts each validator once per (round, type) toward
 * "any" thresholds and once per value toward that value's threshold, fires
 * each threshold once, and turns a second, conflicting vote into a `conflict`
 * result (duplicate-vote evidence, upstream).
 *
 * Why an equivocator's second vote still counts for its value: the paper's
 * rules (L28, L36, L44, L49) ask for 2f+1 messages ⟨PREVOTE/PRECOMMIT, h, r,
 * id(v)⟩. If a node kept only the first vote it happened to receive, a
 * validator that prevoted both v and nil could make two honest nodes disagree
 * for ever on whether a proof-of-lock for v exists — a liveness failure the
 * simulator found (CometBFT avoids it by tracking per-block votes after
 * peers' "maj23" claims). Safety is unaffected: quorum intersection already
 * assumes Byzantine validators vote for anything.
 *
 * Memory: one entry per distinct signed message received in the height, the
 * same bound as the round dimension (a Byzantine validator can sign votes for
 * any number of rounds). The per-peer rate limits of the network layer bound
 * both; the state is dropped when the height ends.
 */
export class VoteKeeper<S> {
  /** The height's total voting power (exact: the sum of safe-integer powers may pass 2^53). */
  readonly totalPower: bigint;
  private readonly powers: readonly bigint[];
  private readonly rounds = new Map<number, RoundVotes<S>>();

  constructor(powers: readonly number[]) {
    let total = 0n;
    for (const p of powers) {
      if (!Number.isSafeInteger(p) || p <= 0) throw new RangeError('voting powers must be positive integers');
      total += BigInt(p);
    }
    this.powers = powers.map(BigInt);
    this.totalPower = total;
  }

  get size(): number {
    return this.powers.length;
  }

  power(validator: number): bigint {
    return this.powers[validator] ?? 0n;
  }

  private round(round: number): RoundVotes<S> {
    let r = this.rounds.get(round);
    if (r === undefined) {
      r = new RoundVotes<S>(this.powers.length);
      this.rounds.set(round, r);
    }
    return r;
  }

  /** Marks `validator` as having sent a message in `round` (counts toward the f+1 round skip). */
  addSender(round: number, validator: number): readonly Threshold[] {
    if (!this.isValidator(validator)) return NONE;
    return this.markSender(this.round(round), round, validator, []);
  }

  private markSender(r: RoundVotes<S>, round: number, validator: number, out: Threshold[]): Threshold[] {
    if (r.sent[validator] === 1) return out;
    r.sent[validator] = 1;
    r.senderPower += this.powers[validator] as bigint;
    // L55 (f+1): more than 1/3 of the power, by @synod/types' one quorum rule.
    if (!r.skipFired && hasMoreThanOneThird(r.senderPower, this.totalPower)) {
      r.skipFired = true;
      out.push({ kind: 'skip', round });
    }
    return out;
  }

  private isValidator(validator: number): boolean {
    return Number.isInteger(validator) && validator >= 0 && validator < this.powers.length;
  }

  addVote(
    type: VoteType,
    round: number,
    validator: number,
    valueId: ValueId | null,
    signed: S,
  ): AddVoteResult<S> {
    if (!this.isValidator(validator)) return { status: 'unknown-validator' };
    const r = this.round(round);
    const t = type === 'prevote' ? r.prevote : r.precommit;
    const existing = t.votes[validator];
    const power = this.powers[validator] as bigint;
    if (existing !== undefined) {
      if (existing.valueId === valueId) return { status: 'duplicate' };
      let more = t.extra.get(validator);
      if (more?.some((k) => k.valueId === valueId)) return { status: 'duplicate' };
      const report = t.conflicted[validator] === 0;
      t.conflicted[validator] = 1;
      if (more === undefined) {
        more = [];
        t.extra.set(validator, more);
      }
      more.push({ valueId, signed });
      const out: Threshold[] = [];
      this.countValue(t, type, round, valueId, power, out);
      return { status: 'conflict', first: existing, report, thresholds: out };
    }
    t.votes[validator] = { valueId, signed };
    const out: Threshold[] = [];
    this.countValue(t, type, round, valueId, power, out);
    t.total += power;
    if (!t.firedAny && hasTwoThirdsMajority(t.total, this.totalPower)) {
      t.firedAny = true;
      out.push({ kind: 'quorum-any', type, round });
    }
    this.markSender(r, round, validator, out);
    return { status: 'added', thresholds: out };
  }

  private countValue(
    t: Tally<S>,
    type: VoteType,
    round: number,
    valueId: ValueId | null,
    power: bigint,
    out: Threshold[],
  ): void {
    const valuePower = (t.byValue.get(valueId) ?? 0n) + power;
    t.byValue.set(valueId, valuePower);
    if (!t.fired.has(valueId) && hasTwoThirdsMajority(valuePower, this.totalPower)) {
      t.fired.add(valueId);
      out.push({ kind: 'quorum-value', type, round, valueId });
    }
  }

  /** Power of the (round, type) votes for `valueId` (null = nil). */
  powerFor(round: number, type: VoteType, valueId: ValueId | null): bigint {
    const r = this.rounds.get(round);
    if (r === undefined) return 0n;
    return (type === 'prevote' ? r.prevote : r.precommit).byValue.get(valueId) ?? 0n;
  }

  /** Power of all (round, type) votes. */
  powerAny(round: number, type: VoteType): bigint {
    const r = this.rounds.get(round);
    if (r === undefined) return 0n;
    return (type === 'prevote' ? r.prevote : r.precommit).total;
  }

  /** More than 2/3 of the power voted `valueId` in (round, type) (@synod/types' `hasTwoThirdsMajority`). */
  hasQuorumFor(round: number, type: VoteType, valueId: ValueId | null): boolean {
    return hasTwoThirdsMajority(this.powerFor(round, type, valueId), this.totalPower);
  }

  /** More than 2/3 of the power voted anything in (round, type). */
  hasQuorumAny(round: number, type: VoteType): boolean {
    return hasTwoThirdsMajority(this.powerAny(round, type), this.totalPower);
  }

  /** Power of the distinct validators that sent any message in `round`. */
  senderPower(round: number): bigint {
    return this.rounds.get(round)?.senderPower ?? 0n;
  }

  /** The counted vote of `validator` in (round, type). */
  vote(round: number, type: VoteType, validator: number): KeptVote<S> | undefined {
    const r = this.rounds.get(round);
    if (r === undefined) return undefined;
    return (type === 'prevote' ? r.prevote : r.precommit).votes[validator];
  }

  /** The counted votes of (round, type), one slot per validator. */
  votes(round: number, type: VoteType): readonly (KeptVote<S> | undefined)[] {
    const r = this.rounds.get(round);
    if (r === undefined) return new Array<KeptVote<S> | undefined>(this.powers.length);
    return [...(type === 'prevote' ? r.prevote : r.precommit).votes];
  }

  /**
   * One slot per validator for a commit of `valueId` in (round, type): its
   * vote for `valueId` if it sent one (an equivocator's later vote included),
   * else its first vote.
   */
  votesFor(round: number, type: VoteType, valueId: ValueId | null): (KeptVote<S> | undefined)[] {
    const r = this.rounds.get(round);
    if (r === undefined) return new Array<KeptVote<S> | undefined>(this.powers.length);
    const t = type === 'prevote' ? r.prevote : r.precommit;
    const out = [...t.votes];
    for (const [validator, more] of t.extra) {
      if (out[validator]?.valueId === valueId) continue;
      const match = more.find((k) => k.valueId === valueId);
      if (match !== undefined) out[validator] = match;
    }
    return out;
  }

  /** Rounds that hold at least one message. */
  roundsSeen(): number[] {
    return [...this.rounds.keys()].sort((a, b) => a - b);
  }
}
