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
  /** A message of a round above the current one, over its validator's quota: not kept, not counted. */
  | { readonly status: 'over-quota' }
  | { readonly status: 'unknown-validator' };

/** Per-validator quota of messages held in rounds above the current round. */
export interface FutureRoundQuota {
  /**
   * Messages (votes kept, proposals) of one validator held in rounds above
   * the current one. An honest validator sends at most three per round
   * (proposal, prevote, precommit) and is rarely more than a round or two
   * ahead: messages of more than 1/3 of the power in a higher round make the
   * node skip to it (L55), which frees the quota.
   */
  readonly messages: number;
  /** Of these, proposals (their blocks are held and validated by the engine). */
  readonly proposals: number;
}

export const DEFAULT_FUTURE_ROUND_QUOTA: FutureRoundQuota = Object.freeze({ messages: 16, proposals: 2 });

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

/** One (round, type): sparse, so its size follows the votes received, not the validator set. */
class Tally<S> {
  /** Each validator's first vote: counts toward "any" and toward its value. */
  readonly votes = new Map<number, KeptVote<S>>();
  /** Each equivocator's first conflicting vote (the evidence): counts toward its value. */
  conflicts: Map<number, KeptVote<S>> | undefined;
  /** Every value some kept vote names: at most two per validator (first vote, first conflict). */
  readonly values = new Map<ValueId | null, ValueTally<S>>();
  total = 0n;
  firedAny = false;
}

class RoundVotes<S> {
  prevote: Tally<S> | undefined;
  precommit: Tally<S> | undefined;
  /** Validators that sent a message in this round (the f+1 of L55). */
  readonly sent = new Set<number>();
  senderPower = 0n;
  skipFired = false;

  tally(type: VoteType): Tally<S> | undefined {
    return type === 'prevote' ? this.prevote : this.precommit;
  }

  tallyFor(type: VoteType): Tally<S> {
    if (type === 'prevote') {
      this.prevote ??= new Tally<S>();
      return this.prevote;
    }
    this.precommit ??= new Tally<S>();
    return this.precommit;
  }
}

/** One message a validator has in a round above the current one. */
interface FutureMessage {
  readonly round: number;
  readonly proposal: boolean;
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
 *
 * Rounds above the current one (`setRound`): each validator may hold at most
 * `FutureRoundQuota.messages` messages there (`proposals` of them proposals);
 * more are `over-quota`, not kept. The quota frees as the node's round moves
 * up. Storage is sparse (maps per round and type, created on the first
 * message), so memory follows the messages held — a constant per message —
 * and never the validator set per round: rounds above the current one hold
 * at most validators × `messages` messages in all.
 */
export class VoteKeeper<S> {
  /** The height's total voting power (exact: the sum of safe-integer powers may pass 2^53). */
  readonly totalPower: bigint;
  readonly quota: FutureRoundQuota;
  private readonly powers: readonly bigint[];
  private readonly rounds = new Map<number, RoundVotes<S>>();
  /** The node's current round: messages of higher rounds count against their validator's quota. */
  private current = 0;
  /** Each validator's messages held in rounds above `current`. */
  private readonly future = new Map<number, FutureMessage[]>();
  private held = 0;

  constructor(powers: readonly number[], quota: FutureRoundQuota = DEFAULT_FUTURE_ROUND_QUOTA) {
    let total = 0n;
    for (const p of powers) {
      if (!Number.isSafeInteger(p) || p <= 0) throw new RangeError('voting powers must be positive integers');
      total += BigInt(p);
    }
    if (!Number.isSafeInteger(quota.messages) || !Number.isSafeInteger(quota.proposals))
      throw new RangeError('future-round quotas must be integers');
    this.powers = powers.map(BigInt);
    this.totalPower = total;
    this.quota = quota;
  }

  /** Votes kept in this height (first votes, first conflicts and further votes for backed values). */
  get votesHeld(): number {
    return this.held;
  }

  /** Messages held in rounds above the current one: of `validator`, or of everyone. */
  futureHeld(validator?: number): number {
    if (validator !== undefined) return this.future.get(validator)?.length ?? 0;
    let n = 0;
    for (const list of this.future.values()) n += list.length;
    return n;
  }

  get size(): number {
    return this.powers.length;
  }

  power(validator: number): bigint {
    return this.powers[validator] ?? 0n;
  }

  /** The node entered `round`: messages of rounds up to it no longer count against any quota. */
  setRound(round: number): void {
    this.current = round;
    for (const [validator, list] of this.future) {
      const still = list.filter((m) => m.round > round);
      if (still.length === 0) this.future.delete(validator);
      else if (still.length !== list.length) this.future.set(validator, still);
    }
  }

  /** Whether `validator` may hold one more message (a proposal when `proposal`) in `round`. */
  private underQuota(round: number, validator: number, proposal: boolean): boolean {
    if (round <= this.current) return true;
    const list = this.future.get(validator);
    if (list === undefined) return this.quota.messages > 0 && (!proposal || this.quota.proposals > 0);
    if (list.length >= this.quota.messages) return false;
    if (!proposal) return true;
    let proposals = 0;
    for (const m of list) if (m.proposal) proposals++;
    return proposals < this.quota.proposals;
  }

  private charge(round: number, validator: number, proposal: boolean): void {
    if (round <= this.current) return;
    const list = this.future.get(validator);
    if (list === undefined) this.future.set(validator, [{ round, proposal }]);
    else list.push({ round, proposal });
  }

  private round(round: number): RoundVotes<S> {
    let r = this.rounds.get(round);
    if (r === undefined) {
      r = new RoundVotes<S>();
      this.rounds.set(round, r);
    }
    return r;
  }

  /** Whether `addProposal` would take a proposal of `validator` for `round` (its quota). */
  admitsProposal(round: number, validator: number): boolean {
    return this.isValidator(validator) && this.underQuota(round, validator, true);
  }

  /**
   * A proposal of `validator` for `round` is held: charged to its quota when
   * the round is above the current one, and its sender counts toward the f+1
   * round skip. Undefined when over the quota (the caller drops the proposal).
   */
  addProposal(round: number, validator: number): readonly Threshold[] | undefined {
    if (!this.isValidator(validator)) return NONE;
    if (!this.underQuota(round, validator, true)) return undefined;
    this.charge(round, validator, true);
    return this.markSender(this.round(round), round, validator, []);
  }

  private markSender(r: RoundVotes<S>, round: number, validator: number, out: Threshold[]): Threshold[] {
    if (r.sent.has(validator)) return out;
    r.sent.add(validator);
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
   * false for a repeat, a dropped further conflict, a vote over its
   * validator's future-round quota or an unknown validator. Changes nothing;
   * the engine asks before checking a signature or writing the WAL.
   */
  admitsVote(type: VoteType, round: number, validator: number, valueId: ValueId | null): boolean {
    if (!this.isValidator(validator)) return false;
    const t = this.rounds.get(round)?.tally(type);
    if (!this.underQuota(round, validator, false)) return false;
    if (t === undefined) return true;
    const first = t.votes.get(validator);
    if (first === undefined) return true;
    if (first.valueId === valueId) return false;
    const conflict = t.conflicts?.get(validator);
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
    const existing = this.rounds.get(round)?.tally(type);
    const first = existing?.votes.get(validator);
    if (first?.valueId === valueId) return { status: 'duplicate' };
    const power = this.powers[validator] as bigint;
    if (first === undefined) {
      if (!this.underQuota(round, validator, false)) return { status: 'over-quota' };
      const r = this.round(round);
      const t = r.tallyFor(type);
      t.votes.set(validator, { valueId, signed });
      this.held++;
      this.charge(round, validator, false);
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
    const t = existing as Tally<S>;
    const conflict = t.conflicts?.get(validator);
    let value: ValueTally<S>;
    if (conflict === undefined) {
      // Its first conflicting vote: kept (the evidence), counted, and its value becomes backed.
      if (!this.underQuota(round, validator, false)) return { status: 'over-quota' };
      t.conflicts ??= new Map();
      t.conflicts.set(validator, { valueId, signed });
      value = this.valueTally(t, valueId);
    } else {
      if (conflict.valueId === valueId) return { status: 'duplicate' };
      const backed = t.values.get(valueId);
      if (backed === undefined) return { status: 'dropped' };
      if (backed.more?.has(validator) === true) return { status: 'duplicate' };
      if (!this.underQuota(round, validator, false)) return { status: 'over-quota' };
      backed.more ??= new Map();
      backed.more.set(validator, { valueId, signed });
      value = backed;
    }
    this.held++;
    this.charge(round, validator, false);
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
    return this.rounds.get(round)?.tally(type)?.values.get(valueId)?.power ?? 0n;
  }

  /** Power of all (round, type) votes. */
  powerAny(round: number, type: VoteType): bigint {
    return this.rounds.get(round)?.tally(type)?.total ?? 0n;
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
    return this.rounds.get(round)?.tally(type)?.votes.get(validator);
  }

  /** The counted votes of (round, type), one slot per validator. */
  votes(round: number, type: VoteType): readonly (KeptVote<S> | undefined)[] {
    const out = new Array<KeptVote<S> | undefined>(this.powers.length);
    const t = this.rounds.get(round)?.tally(type);
    if (t !== undefined) for (const [i, v] of t.votes) out[i] = v;
    return out;
  }

  /**
   * Every kept vote of (round, type): each validator's first vote, then each
   * equivocator's first conflicting vote, then the further votes kept for
   * backed values. A peer that needs a proof-of-lock gets the votes that
   * made it here, an equivocator's second vote included (its first may name
   * another value).
   */
  keptVotes(round: number, type: VoteType): KeptVote<S>[] {
    const t = this.rounds.get(round)?.tally(type);
    if (t === undefined) return [];
    const out = [...t.votes.values()];
    if (t.conflicts !== undefined) out.push(...t.conflicts.values());
    for (const v of t.values.values()) if (v.more !== undefined) out.push(...v.more.values());
    return out;
  }

  /**
   * One slot per validator for a commit of `valueId` in (round, type): its
   * vote for `valueId` if it sent one (an equivocator's later vote included),
   * else its first vote.
   */
  votesFor(round: number, type: VoteType, valueId: ValueId | null): (KeptVote<S> | undefined)[] {
    const out = new Array<KeptVote<S> | undefined>(this.powers.length);
    const t = this.rounds.get(round)?.tally(type);
    if (t === undefined) return out;
    const more = t.values.get(valueId)?.more;
    for (const [i, first] of t.votes) {
      out[i] =
        first.valueId === valueId
          ? first
          : t.conflicts?.get(i)?.valueId === valueId
            ? t.conflicts.get(i)
            : (more?.get(i) ?? first);
    }
    return out;
  }

  /** Rounds that hold at least one message. */
  roundsSeen(): number[] {
    return [...this.rounds.keys()].sort((a, b) => a - b);
  }
}
