/**
 * Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
 * Milosevic 2018), lines 11–67, for one height. Comments `// Lnn` name the
 * paper's line; `this.line(nn)` records that the line ran (the interaction
 * tests assert that the scripts cover every line).
 *
 * The paper's "upon" rules are predicates over the message log and the state
 * variables. After every input the machine evaluates them until none is
 * enabled (`settle`), in a fixed order: L49 (decide), L55 (round skip), L22 and
 * L28 (prevote), L36 (lock), L44 (nil polka), L34 and L47 (timeouts). Each rule
 * carries its own guard, so the order only decides which of two enabled rules
 * runs first (e.g. L36 precommits before L34 would schedule a prevote timeout).
 *
 * Deviations from the paper, all allowed by it or required by the issue:
 * - L49 needs the block (known and valid), not the proposal message: a commit
 *   quorum for a value whose block arrives by hash decides.
 * - A polka or commit quorum for a block we do not have asks for it
 *   (`request-block`) once.
 * - getValue() (L18) is asynchronous: `request-value` now, the proposal (L19)
 *   when the `value` input answers, if the node is still in that round's
 *   propose step.
 * - L21 schedules the propose timeout for everyone, the proposer included
 *   (as CometBFT does): a value that never arrives or a proposal the signer
 *   refuses ends, through L57, in a nil prevote instead of a stuck round.
 * - A non-validator runs the same machine but never broadcasts.
 */

import { ProposerSchedule } from '../proposer/priority.js';
import { timeoutMs } from '../timeouts.js';
import type {
  CommitVotes,
  CoreEffect,
  CoreState,
  RoundStep,
  TimeoutParams,
  ValueId,
  VoteType,
  WeightedValidatorSet,
} from '../types.js';
import { type Threshold, VoteKeeper } from '../vote-keeper/vote-keeper.js';

/** Messages more than this many rounds above the current round are dropped (bounds memory and proposer work). */
export const ROUND_LOOKAHEAD_MAX = 10_000;

interface RoundProposal<S> {
  readonly polRound: number;
  readonly valueId: ValueId;
  readonly proposer: number;
  readonly signed: S;
}

export interface HeightMachineOptions {
  readonly height: number;
  readonly validatorSet: WeightedValidatorSet;
  /** Our index in the set, or -1 for a non-validator. */
  readonly selfIndex: number;
  readonly timeouts: TimeoutParams;
  readonly trace?: ((line: number) => void) | undefined;
}

export class HeightMachine<S> {
  readonly height: number;
  readonly selfIndex: number;
  readonly keeper: VoteKeeper<S>;
  readonly validatorCount: number;

  // The paper's state variables (L1–L9).
  round = 0;
  step: RoundStep = 'propose';
  lockedValue: ValueId | null = null;
  lockedRound = -1;
  validValue: ValueId | null = null;
  validRound = -1;
  decision: { readonly round: number; readonly valueId: ValueId } | null = null;

  /** Effects produced since the owner last drained them. */
  effects: CoreEffect<S>[] = [];

  private readonly timeouts: TimeoutParams;
  private readonly trace: ((line: number) => void) | undefined;
  private readonly schedule: ProposerSchedule;
  private readonly proposals = new Map<number, RoundProposal<S>>();
  /** Rounds whose proposer's double proposal was already reported. */
  private readonly doubleProposals = new Set<number>();
  /** Blocks we have, by value id: valid (true) or rejected by the application (false). */
  private readonly blocks = new Map<ValueId, boolean>();
  private readonly requestedBlocks = new Set<ValueId>();
  /** (round, value) pairs with more than 2/3 precommits, in the order seen, not yet decided on. */
  private commitQuorums: { round: number; valueId: ValueId }[] = [];
  /** Highest round with messages from more than 1/3 of the power. */
  private skipRound = -1;
  /** The round whose L18 getValue() is outstanding, or -1. */
  private awaitingValue = -1;
  // "for the first time" guards of the current round.
  private prevoteTimeoutScheduled = false; // L34
  private polkaSeen = false; // L36
  private precommitTimeoutScheduled = false; // L47

  constructor(options: HeightMachineOptions) {
    this.height = options.height;
    this.selfIndex = options.selfIndex;
    this.timeouts = options.timeouts;
    this.trace = options.trace;
    const validators = options.validatorSet.validators;
    this.validatorCount = validators.length;
    this.keeper = new VoteKeeper<S>(validators.map((v) => v.votingPower));
    this.schedule = new ProposerSchedule(validators);
  }

  private line(n: number): void {
    this.trace?.(n);
  }

  private get isValidator(): boolean {
    return this.selfIndex >= 0;
  }

  proposer(round: number): number {
    return this.schedule.proposer(round);
  }

  state(): CoreState {
    return {
      height: this.height,
      round: this.round,
      step: this.step,
      lockedValue: this.lockedValue,
      lockedRound: this.lockedRound,
      validValue: this.validValue,
      validRound: this.validRound,
      decision: this.decision?.valueId ?? null,
      selfIndex: this.selfIndex,
    };
  }

  private inWindow(round: number): boolean {
    return Number.isSafeInteger(round) && round >= 0 && round <= this.round + ROUND_LOOKAHEAD_MAX;
  }

  // ---------------------------------------------------------------- inputs

  /** L10/L54: the height begins at `round`. */
  /**
   * The signed messages held for `rounds` (the liveness protocol's answer):
   * each round's proposal (the first one taken) and every kept prevote and
   * precommit (an equivocator's conflicting votes too: a proof-of-lock may
   * rest on them). Bounded by the vote keeper.
   */
  heldSigned(rounds: Iterable<number>): { readonly proposals: S[]; readonly votes: S[] } {
    const proposals: S[] = [];
    const votes: S[] = [];
    for (const round of rounds) {
      const p = this.proposals.get(round);
      if (p !== undefined) proposals.push(p.signed);
      for (const type of ['prevote', 'precommit'] as const)
        for (const v of this.keeper.keptVotes(round, type)) votes.push(v.signed);
    }
    return { proposals, votes };
  }

  start(round: number): void {
    this.startRound(round);
    this.settle();
  }

  onProposal(p: {
    round: number;
    polRound: number;
    valueId: ValueId;
    proposer: number;
    signed: S;
    valid?: boolean | undefined;
  }): void {
    if (this.decision !== null || !this.inWindow(p.round)) return;
    if (!Number.isInteger(p.polRound) || p.polRound < -1 || p.polRound >= p.round) return;
    // A proposal from anyone but the round's proposer is ignored entirely (its block stays unknown).
    if (p.proposer !== this.schedule.proposer(p.round)) return;
    const existing = this.proposals.get(p.round);
    // Each proposal of a new value is held: in a round above ours it counts against the proposer's
    // quota (VoteKeeper.addProposal), and over it the proposal is dropped whole.
    const thresholds =
      existing?.valueId === p.valueId ? undefined : this.keeper.addProposal(p.round, p.proposer);
    if (existing?.valueId !== p.valueId && thresholds === undefined) return;
    if (existing !== undefined) {
      if (existing.valueId !== p.valueId && !this.doubleProposals.has(p.round)) {
        this.doubleProposals.add(p.round);
        this.effects.push({
          kind: 'double-proposal',
          height: this.height,
          round: p.round,
          validator: p.proposer,
          first: existing.signed,
          second: p.signed,
        });
      }
      // The proposal stays the first one, but a block that came validated with a later proposal of the
      // round's proposer (a double proposal, or the first proposal again, now with its block) is learned:
      // a proposer that shows B1 to us and B2 to the rest must not keep us from deciding B2.
      if (p.valid !== undefined && !this.blocks.has(p.valueId)) {
        this.learnBlock(p.valueId, p.valid);
        this.settle();
      }
      return;
    }
    this.proposals.set(p.round, {
      polRound: p.polRound,
      valueId: p.valueId,
      proposer: p.proposer,
      signed: p.signed,
    });
    if (p.valid !== undefined) this.learnBlock(p.valueId, p.valid);
    this.onThresholds(thresholds ?? []);
    this.settle();
  }

  onBlock(valueId: ValueId, valid: boolean): void {
    if (this.decision !== null) return;
    this.learnBlock(valueId, valid);
    this.settle();
  }

  onVote(v: { type: VoteType; round: number; valueId: ValueId | null; validator: number; signed: S }): void {
    if (!this.inWindow(v.round)) return;
    const result = this.keeper.addVote(v.type, v.round, v.validator, v.valueId, v.signed);
    if (result.status === 'conflict') {
      if (result.report) {
        this.effects.push({
          kind: 'duplicate-vote',
          type: v.type,
          height: this.height,
          round: v.round,
          validator: v.validator,
          first: result.first.signed,
          second: v.signed,
        });
      }
    } else if (result.status !== 'added') return;
    if (this.decision !== null) return;
    this.onThresholds(result.thresholds);
    this.settle();
  }

  /**
   * Whether `onProposal` could take a proposal of `proposer` for `round` (the
   * window, the proposer's future-round quota); changes nothing. Whether it is
   * the round's proposer is not asked here: that costs work for far rounds.
   */
  admitsProposal(round: number, proposer: number): boolean {
    return this.decision === null && this.inWindow(round) && this.keeper.admitsProposal(round, proposer);
  }

  /** Whether `onVote` would take this vote (see `VoteKeeper.admitsVote`); changes nothing. */
  admitsVote(v: { type: VoteType; round: number; valueId: ValueId | null; validator: number }): boolean {
    return this.inWindow(v.round) && this.keeper.admitsVote(v.type, v.round, v.validator, v.valueId);
  }

  onTimeout(step: RoundStep, round: number): void {
    if (this.decision !== null) return;
    if (step === 'propose') this.onTimeoutPropose(round);
    else if (step === 'prevote') this.onTimeoutPrevote(round);
    else this.onTimeoutPrecommit(round);
    this.settle();
  }

  /** The answer to L18 getValue(). */
  onValue(round: number, valueId: ValueId): void {
    if (this.decision !== null || round !== this.round || this.awaitingValue !== round) return;
    if (this.step !== 'propose' || this.proposals.has(round)) return;
    this.awaitingValue = -1;
    this.learnBlock(valueId, true);
    this.line(19);
    this.broadcastProposal(valueId, this.validRound); // L19: broadcast ⟨PROPOSAL, h_p, round_p, proposal, validRound_p⟩
    this.settle();
  }

  /** The precommits of the decision round (for the commit), including late ones. */
  commitVotes(): CommitVotes<S> | undefined {
    if (this.decision === null) return undefined;
    const { round, valueId } = this.decision;
    return {
      height: this.height,
      round,
      valueId,
      precommits: this.keeper.votesFor(round, 'precommit', valueId),
    };
  }

  // ---------------------------------------------------------------- message log

  private learnBlock(valueId: ValueId, valid: boolean): void {
    if (!this.blocks.has(valueId)) this.blocks.set(valueId, valid);
  }

  private onThresholds(thresholds: readonly Threshold[]): void {
    for (const t of thresholds) {
      if (t.kind === 'skip') {
        if (t.round > this.skipRound) this.skipRound = t.round;
      } else if (t.kind === 'quorum-value' && t.valueId !== null) {
        if (t.type === 'precommit') this.commitQuorums.push({ round: t.round, valueId: t.valueId });
        // A polka or a commit quorum for a block we do not have: ask the network for it.
        if (!this.blocks.has(t.valueId) && !this.requestedBlocks.has(t.valueId)) {
          this.requestedBlocks.add(t.valueId);
          this.effects.push({ kind: 'request-block', height: this.height, valueId: t.valueId });
        }
      }
    }
  }

  // ---------------------------------------------------------------- own messages

  // Own messages are only emitted here; they count once the caller delivers them back (signed) as inputs.

  private broadcastProposal(valueId: ValueId, polRound: number): void {
    if (!this.isValidator) return;
    this.effects.push({
      kind: 'broadcast-proposal',
      height: this.height,
      round: this.round,
      valueId,
      polRound,
    });
  }

  private broadcastVote(type: VoteType, valueId: ValueId | null): void {
    if (!this.isValidator) return;
    this.effects.push({ kind: 'broadcast-vote', type, height: this.height, round: this.round, valueId });
  }

  private scheduleTimeout(step: RoundStep): void {
    this.effects.push({
      kind: 'schedule-timeout',
      step,
      height: this.height,
      round: this.round,
      durationMs: timeoutMs(this.timeouts, step, this.round),
    });
  }

  // ---------------------------------------------------------------- Algorithm 1

  // L11: Function StartRound(round)
  private startRound(round: number): void {
    this.line(11);
    this.round = round; // L12
    this.keeper.setRound(round);
    this.line(12);
    this.step = 'propose'; // L13
    this.line(13);
    this.prevoteTimeoutScheduled = false;
    this.polkaSeen = false;
    this.precommitTimeoutScheduled = false;
    this.awaitingValue = -1;
    // L21, for everyone, the proposer included (a deviation from the paper, as in CometBFT): our
    // getValue() is asynchronous and may fail, and the signer may refuse our proposal; neither may
    // keep us in this round's propose step for ever (L57 then prevotes nil). Scheduled first, before
    // our own proposal can move us on to prevote.
    this.line(21);
    this.scheduleTimeout('propose');
    this.line(14);
    if (this.schedule.proposer(round) === this.selfIndex) {
      // L14: if proposer(h_p, round_p) = p
      this.line(15);
      if (this.validValue !== null) {
        // L15: if validValue_p ≠ nil — L16: proposal ← validValue_p
        this.line(16);
        this.line(19);
        this.broadcastProposal(this.validValue, this.validRound); // L19
      } else {
        // L17: else — L18: proposal ← getValue()
        this.line(17);
        this.line(18);
        this.awaitingValue = round;
        this.effects.push({ kind: 'request-value', height: this.height, round });
        // L19 runs in onValue, when the value arrives.
      }
    } else {
      // L20: else — L21: schedule OnTimeoutPropose(h_p, round_p) after timeoutPropose(round_p) (done above)
      this.line(20);
    }
  }

  /** Runs enabled "upon" rules until none is. */
  private settle(): void {
    for (;;) {
      if (this.decision !== null) return;
      if (this.uponCommitQuorum()) continue; // L49
      if (this.uponRoundSkip()) continue; // L55
      if (this.uponProposalNoPol()) continue; // L22
      if (this.uponProposalWithPol()) continue; // L28
      if (this.uponPolkaForProposal()) continue; // L36
      if (this.uponPolkaNil()) continue; // L44
      if (this.uponPolkaAny()) continue; // L34
      if (this.uponPrecommitAny()) continue; // L47
      return;
    }
  }

  // L22: upon ⟨PROPOSAL, h_p, round_p, v, −1⟩ from proposer(h_p, round_p) while step_p = propose
  private uponProposalNoPol(): boolean {
    if (this.step !== 'propose') return false;
    const p = this.proposals.get(this.round);
    if (p === undefined || p.polRound !== -1) return false;
    const valid = this.blocks.get(p.valueId);
    if (valid === undefined) return false; // valid(v) needs the block
    this.line(22);
    this.line(23);
    const lockAllows = this.lockedRound === -1 || this.lockedValue === p.valueId;
    if (valid && lockAllows) {
      // L23: if valid(v) ∧ (lockedRound_p = −1 ∨ lockedValue_p = v)
      this.line(24);
      this.broadcastVote('prevote', p.valueId); // L24
    } else {
      this.line(25);
      this.line(26);
      this.broadcastVote('prevote', null); // L26
    }
    this.line(27);
    this.step = 'prevote'; // L27
    return true;
  }

  // L28: upon ⟨PROPOSAL, h_p, round_p, v, vr⟩ from proposer(h_p, round_p) AND 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩
  //      while step_p = propose ∧ (vr ≥ 0 ∧ vr < round_p)
  private uponProposalWithPol(): boolean {
    if (this.step !== 'propose') return false;
    const p = this.proposals.get(this.round);
    if (p === undefined || p.polRound < 0 || p.polRound >= this.round) return false;
    if (!this.keeper.hasQuorumFor(p.polRound, 'prevote', p.valueId)) return false;
    const valid = this.blocks.get(p.valueId);
    if (valid === undefined) return false;
    this.line(28);
    this.line(29);
    if (valid && (this.lockedRound <= p.polRound || this.lockedValue === p.valueId)) {
      // L29: if valid(v) ∧ (lockedRound_p ≤ vr ∨ lockedValue_p = v)
      this.line(30);
      this.broadcastVote('prevote', p.valueId); // L30
    } else {
      this.line(31);
      this.line(32);
      this.broadcastVote('prevote', null); // L32
    }
    this.line(33);
    this.step = 'prevote'; // L33
    return true;
  }

  // L34: upon 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step_p = prevote for the first time
  private uponPolkaAny(): boolean {
    if (this.step !== 'prevote' || this.prevoteTimeoutScheduled) return false;
    if (!this.keeper.hasQuorumAny(this.round, 'prevote')) return false;
    this.line(34);
    this.prevoteTimeoutScheduled = true;
    this.line(35);
    this.scheduleTimeout('prevote'); // L35
    return true;
  }

  // L36: upon ⟨PROPOSAL, h_p, round_p, v, ∗⟩ from proposer(h_p, round_p) AND 2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩
  //      while valid(v) ∧ step_p ≥ prevote for the first time
  private uponPolkaForProposal(): boolean {
    if (this.polkaSeen || this.step === 'propose') return false;
    const p = this.proposals.get(this.round);
    if (p === undefined || this.blocks.get(p.valueId) !== true) return false;
    if (!this.keeper.hasQuorumFor(this.round, 'prevote', p.valueId)) return false;
    this.line(36);
    this.polkaSeen = true;
    this.line(37);
    if (this.step === 'prevote') {
      // L37: if step_p = prevote
      this.line(38);
      this.lockedValue = p.valueId; // L38
      this.line(39);
      this.lockedRound = this.round; // L39
      this.line(40);
      this.broadcastVote('precommit', p.valueId); // L40
      this.line(41);
      this.step = 'precommit'; // L41
    }
    this.line(42);
    this.validValue = p.valueId; // L42
    this.line(43);
    this.validRound = this.round; // L43
    return true;
  }

  // L44: upon 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩ while step_p = prevote
  private uponPolkaNil(): boolean {
    if (this.step !== 'prevote' || !this.keeper.hasQuorumFor(this.round, 'prevote', null)) return false;
    this.line(44);
    this.line(45);
    this.broadcastVote('precommit', null); // L45
    this.line(46);
    this.step = 'precommit'; // L46
    return true;
  }

  // L47: upon 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩ for the first time
  private uponPrecommitAny(): boolean {
    if (this.precommitTimeoutScheduled || !this.keeper.hasQuorumAny(this.round, 'precommit')) return false;
    this.line(47);
    this.precommitTimeoutScheduled = true;
    this.line(48);
    this.scheduleTimeout('precommit'); // L48
    return true;
  }

  // L49: upon ⟨PROPOSAL, h_p, r, v, ∗⟩ from proposer(h_p, r) AND 2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩
  //      while decision_p[h_p] = nil — here: the block of v instead of the proposal message.
  private uponCommitQuorum(): boolean {
    for (let i = 0; i < this.commitQuorums.length; i++) {
      const q = this.commitQuorums[i] as { round: number; valueId: ValueId };
      const valid = this.blocks.get(q.valueId);
      if (valid === undefined) continue; // waiting for the block (requested)
      this.line(49);
      this.commitQuorums.splice(i, 1);
      this.line(50);
      if (!valid) return true; // L50: if valid(v) — a commit for an invalid block is never decided
      this.line(51);
      this.decision = { round: q.round, valueId: q.valueId }; // L51: decision_p[h_p] = v
      const commit = this.commitVotes() as CommitVotes<S>;
      this.effects.push({ kind: 'decide', height: this.height, round: q.round, valueId: q.valueId, commit });
      // L52–L54 (next height, reset, StartRound(0)) run when the owner starts the next height.
      return true;
    }
    return false;
  }

  // L55: upon f+1 ⟨∗, h_p, round, ∗, ∗⟩ with round > round_p
  private uponRoundSkip(): boolean {
    if (this.skipRound <= this.round) return false;
    this.line(55);
    this.line(56);
    this.startRound(this.skipRound); // L56
    return true;
  }

  // L57: Function OnTimeoutPropose(height, round)
  private onTimeoutPropose(round: number): void {
    this.line(57);
    this.line(58);
    if (round === this.round && this.step === 'propose') {
      // L58: if height = h_p ∧ round = round_p ∧ step_p = propose
      this.line(59);
      this.broadcastVote('prevote', null); // L59
      this.line(60);
      this.step = 'prevote'; // L60
    }
  }

  // L61: Function OnTimeoutPrevote(height, round)
  private onTimeoutPrevote(round: number): void {
    this.line(61);
    this.line(62);
    if (round === this.round && this.step === 'prevote') {
      // L62: if height = h_p ∧ round = round_p ∧ step_p = prevote
      this.line(63);
      this.broadcastVote('precommit', null); // L63
      this.line(64);
      this.step = 'precommit'; // L64
    }
  }

  // L65: Function OnTimeoutPrecommit(height, round)
  private onTimeoutPrecommit(round: number): void {
    this.line(65);
    this.line(66);
    if (round === this.round) {
      // L66: if height = h_p ∧ round = round_p
      this.line(67);
      this.startRound(this.round + 1); // L67
    }
  }
}
