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
   * "any" thresholds and is returned by `vote()`); `report` is true for its
   * first conflicting vote in this (round, type), the one kept as evidence.
   * The vote still counts toward its own value (the paper counts 2f+1
   * ⟨PREVOTE, h, r, id(v)⟩ messages, whoever else they conflict with), so
   * `thresholds` may hold a `quorum-value` it crossed.
   */
  | {
      readonly status: 'conflict';
      readonly first: KeptVote<S>;
      readonly report: boolean;
      readonly thresholds: readonly Threshold[];
    }
  /**
   * A further conflicting vote (the validator's first conflicting vote is
   * already kept) for a value no other vote of this (round, type) names: not
   * kept, not counted (no quorum can form on it without other votes).
   */
  | { readonly status: 'dropped' }
  | { readonly status: 'unknown-validator' };

const NONE: readonly Threshold[] = Object.freeze([]);

/** The votes for one value in one (round, type). */
interface ValueTally<S> {
  power: bigint;
  fired: boolean;
  /**
   * Equivocators' votes for this value that are neither their first vote nor
   * their first conflicting one, by validator (at most one per validator).
   */
  more: Map<number, KeptVote<S>> | undefined;
}

class Tally<S> {
  /** Each validator's first vote: counts toward "any" and toward its value. */
  readonly votes: (KeptVote<S> | undefined)[];
  /** Each equivocator's first conflicting vote (the evidence): counts toward its value. */
  readonly conflicts: (KeptVote<S> | undefined)[];
  /** Every value some kept vote names: at most two per validator (first vote, first conflict). */
  readonly values = new Map<ValueId | null, ValueTally<S>>();
  total = 0n;
  firedAny = false;
  constructor(n: number) {
    this.votes = new Array<KeptVote<S> | undefined>(n);
    this.conflicts = new Array<KeptVote<S> | undefined>(n);
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
 * Why an equivocator's conflicting votes still count for their values: the
 * paper's rules (L28, L36, L44, L49) ask for 2f+1 messages ⟨PREVOTE/PRECOMMIT,
 * h, r, id(v)⟩. If a node kept only the first vote it happened to receive, a
 * validator that prevoted both v and nil could make two honest nodes disagree
 * for ever on whether a proof-of-lock for v exists — a liveness failure the
 * simulator found (CometBFT avoids it by tracking per-block votes after
 * peers' "maj23" claims). Safety is unaffected: quorum intersection already
 * assumes Byzantine validators vote for anything.
 *
 * What is kept of an equivocator, per (round, type), in O(1) per vote:
 * - its first vote, and its first conflicting vote (the evidence); both count
 *   toward their values;
 * - a further vote only if its value is one that another kept vote names
 *   ("backed"), at most one per value. Each validator brings at most two
 *   values, so a (round, type) holds at most 2 · validators values, and one
 *   validator at most 2 + 2 · validators votes, however many it signs. A
 *   further vote for a value nobody else named is `dropped`: no quorum can
 *   form on such a value without other votes, and a flood of distinct values
 *   costs a map lookup each.
 * The limit: a vote dropped because it came before any other vote for its
 * value is not counted when that value later gets votes (it is not kept).
 * An equivocator that sends its vote for v after two other conflicting ones
 * and before anyone else voted v can thus hide its own vote for v from a
 * node; its first conflicting vote is never lost this way.
 */
export class VoteKeeper<S> {
  /** The height's total voting power (exact: the sum of safe-integer powers may pass 2^53). */
  readonly totalPower: bigint;
  private readonly powers: readonly bigint[];
  private readonly rounds = new Map<number, RoundVotes<S>>();
  private held = 0;

  constructor(powers: readonly number[]) {
    let total = 0n;
    for (const p of powers) {
      if (!Number.isSafeInteger(p) || p <= 0) throw new RangeError('voting powers must be positive integers');
      total += BigInt(p);
    }
    this.powers = powers.map(BigInt);
    this.totalPower = total;
  }

  /** Votes kept in this height (first votes, first conflicts and further votes for backed values). */
  get votesHeld(): number {
    return this.held;
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

  /**
   * Whether `addVote` would take this vote (count it or keep it as evidence):
   * false for a repeat, a dropped further conflict or an unknown validator.
   * Changes nothing; the engine asks before checking a signature or writing
   * the WAL.
   */
  admitsVote(type: VoteType, round: number, validator: number, valueId: ValueId | null): boolean {
    if (!this.isValidator(validator)) return false;
    const r = this.rounds.get(round);
    if (r === undefined) return true;
    const t = type === 'prevote' ? r.prevote : r.precommit;
    const first = t.votes[validator];
    if (first === undefined) return true;
    if (first.valueId === valueId) return false;
    const conflict = t.conflicts[validator];
    if (conflict === undefined) return true;
    if (conflict.valueId === valueId) return false;
    const value = t.values.get(valueId);
    return value !== undefined && value.more?.has(validator) !== true;
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
    const first = t.votes[validator];
    const power = this.powers[validator] as bigint;
    if (first === undefined) {
      t.votes[validator] = { valueId, signed };
      this.held++;
      const out: Threshold[] = [];
      this.countValue(this.valueTally(t, valueId), type, round, valueId, power, out);
      t.total += power;
      if (!t.firedAny && hasTwoThirdsMajority(t.total, this.totalPower)) {
        t.firedAny = true;
        out.push({ kind: 'quorum-any', type, round });
      }
      this.markSender(r, round, validator, out);
      return { status: 'added', thresholds: out };
    }
    if (first.valueId === valueId) return { status: 'duplicate' };
    const conflict = t.conflicts[validator];
    let value: ValueTally<S>;
    if (conflict === undefined) {
      // Its first conflicting vote: kept (the evidence), counted, and its value becomes backed.
      t.conflicts[validator] = { valueId, signed };
      value = this.valueTally(t, valueId);
    } else {
      if (conflict.valueId === valueId) return { status: 'duplicate' };
      const backed = t.values.get(valueId);
      if (backed === undefined) return { status: 'dropped' };
      if (backed.more === undefined) backed.more = new Map();
      else if (backed.more.has(validator)) return { status: 'duplicate' };
      backed.more.set(validator, { valueId, signed });
      value = backed;
    }
    this.held++;
    const out: Threshold[] = [];
    this.countValue(value, type, round, valueId, power, out);
    return { status: 'conflict', first, report: conflict === undefined, thresholds: out };
  }

  private valueTally(t: Tally<S>, valueId: ValueId | null): ValueTally<S> {
    let v = t.values.get(valueId);
    if (v === undefined) {
      v = { power: 0n, fired: false, more: undefined };
      t.values.set(valueId, v);
    }
    return v;
  }

  private countValue(
    value: ValueTally<S>,
    type: VoteType,
    round: number,
    valueId: ValueId | null,
    power: bigint,
    out: Threshold[],
  ): void {
    value.power += power;
    if (!value.fired && hasTwoThirdsMajority(value.power, this.totalPower)) {
      value.fired = true;
      out.push({ kind: 'quorum-value', type, round, valueId });
    }
  }

  /** Power of the (round, type) votes for `valueId` (null = nil). */
  powerFor(round: number, type: VoteType, valueId: ValueId | null): bigint {
    const r = this.rounds.get(round);
    if (r === undefined) return 0n;
    return (type === 'prevote' ? r.prevote : r.precommit).values.get(valueId)?.power ?? 0n;
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
    const more = t.values.get(valueId)?.more;
    const out = [...t.votes];
    for (let i = 0; i < out.length; i++) {
      if (out[i] === undefined || out[i]?.valueId === valueId) continue;
      const conflict = t.conflicts[i];
      if (conflict?.valueId === valueId) out[i] = conflict;
      else {
        const further = more?.get(i);
        if (further !== undefined) out[i] = further;
      }
    }
    return out;
  }

  /** Rounds that hold at least one message. */
  roundsSeen(): number[] {
    return [...this.rounds.keys()].sort((a, b) => a - b);
  }
}
