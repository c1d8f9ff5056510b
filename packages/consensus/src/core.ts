import { compareAddresses } from './proposer/priority.js';
import { HeightMachine } from './round/height-machine.js';
import type {
  CommitVote,
  CommitVotes,
  CoreEffect,
  CoreInput,
  CoreState,
  TimeoutParams,
  WeightedValidatorSet,
} from './types.js';

export interface ConsensusCoreOptions {
  /** Our validator address, or null for a node that only follows. */
  readonly selfAddress: Uint8Array | null;
  /** Round timeouts (`ConsensusParams['timeouts']`); a `start-height` input may bring new ones. */
  readonly timeouts: TimeoutParams;
  /** Called with the paper's line number (11–67) each time a line runs; for coverage in tests. */
  readonly trace?: (line: number) => void;
}

const NO_EFFECTS: readonly CoreEffect<never>[] = Object.freeze([]);

/**
 * The pure consensus core: `step(input) → effects`. No clock, no randomness,
 * no I/O, no awaits, no logging; the same inputs always give the same effects.
 *
 * It runs Algorithm 1 for the current height (see `round/height-machine.ts`),
 * and owns the height lifecycle: a `start-height` input (with that height's
 * validator set) drops the previous height's state and keeps only its commit
 * (`lastCommit()`), which late precommits for the decided round still extend.
 * Inputs for any other height are ignored (the engine buffers the next one).
 */
export class ConsensusCore<S> {
  private readonly options: ConsensusCoreOptions;
  private machine: HeightMachine<S> | undefined;
  private last:
    | { height: number; round: number; valueId: string; precommits: (CommitVote<S> | undefined)[] }
    | undefined;

  constructor(options: ConsensusCoreOptions) {
    this.options = options;
  }

  /** The current height's state, or undefined before the first `start-height`. */
  state(): CoreState | undefined {
    return this.machine?.state();
  }

  /** The round of `height` when it is the current height, else undefined (no allocation: gossip screening asks per message). */
  roundAt(height: number): number | undefined {
    const m = this.machine;
    return m !== undefined && m.height === height ? m.round : undefined;
  }

  /**
   * What the current height holds: rounds with messages, votes kept, and
   * messages held in rounds above the current one (the part the future-round
   * quota bounds). For tests, metrics and benchmarks.
   */
  held(): { readonly rounds: number; readonly votes: number; readonly futureMessages: number } {
    const k = this.machine?.keeper;
    if (k === undefined) return { rounds: 0, votes: 0, futureMessages: 0 };
    return { rounds: k.roundsSeen().length, votes: k.votesHeld, futureMessages: k.futureHeld() };
  }

  /** The signed proposals and votes of the current height held for `rounds` (see HeightMachine.heldSigned). */
  heldSigned(rounds: Iterable<number>): { readonly proposals: S[]; readonly votes: S[] } {
    return this.machine?.heldSigned(rounds) ?? { proposals: [], votes: [] };
  }

  /** Index (in the current height's set) of the proposer of `round`. */
  proposer(round: number): number {
    if (this.machine === undefined) throw new RangeError('no height started');
    return this.machine.proposer(round);
  }

  /** The commit of the last decided height (precommits of its decision round). */
  lastCommit(): CommitVotes<S> | undefined {
    if (this.last === undefined) return undefined;
    return { ...this.last, precommits: [...this.last.precommits] };
  }

  /** The decision commit of the current height, once decided (grows with late precommits). */
  currentCommit(): CommitVotes<S> | undefined {
    return this.machine?.commitVotes();
  }

  /**
   * Whether `step` would take this vote: false for a repeat, an equivocator's
   * vote the vote keeper drops, a round outside the look-ahead window, a
   * precommit of the last decided height that would not change its commit,
   * or another height. Changes nothing: the engine asks before it checks a
   * signature or writes the WAL, so one validator's flood costs a lookup per
   * vote.
   */
  admitsVote(v: Omit<Extract<CoreInput<S>, { kind: 'vote' }>, 'signed' | 'kind'>): boolean {
    const m = this.machine;
    if (m === undefined) return false;
    if (v.height === m.height) return m.admitsVote(v);
    const last = this.last;
    if (last === undefined || v.type !== 'precommit' || v.height !== last.height || v.round !== last.round)
      return false;
    if (!Number.isInteger(v.validator) || v.validator < 0 || v.validator >= last.precommits.length)
      return false;
    const existing = last.precommits[v.validator];
    return existing === undefined || (existing.valueId !== last.valueId && v.valueId === last.valueId);
  }

  /**
   * Whether `step` could take a proposal of validator `proposer` for (height,
   * round): the current height, undecided, the round within the look-ahead
   * window and the proposer's quota of messages in rounds above the current
   * one. Changes nothing; the engine asks before it checks the signature or
   * validates the block.
   */
  admitsProposal(height: number, round: number, proposer: number): boolean {
    const m = this.machine;
    return m !== undefined && height === m.height && m.admitsProposal(round, proposer);
  }

  step(input: CoreInput<S>): readonly CoreEffect<S>[] {
    if (input.kind === 'start-height') return this.startHeight(input);
    const m = this.machine;
    if (m === undefined) return NO_EFFECTS;
    if (input.height !== m.height) {
      if (input.kind === 'vote') this.lateCommitVote(input);
      return NO_EFFECTS;
    }
    switch (input.kind) {
      case 'proposal':
        m.onProposal(input);
        break;
      case 'block':
        m.onBlock(input.valueId, input.valid);
        break;
      case 'vote':
        m.onVote(input);
        break;
      case 'timeout':
        m.onTimeout(input.step, input.round);
        break;
      case 'value':
        m.onValue(input.round, input.valueId);
        break;
    }
    return this.drain(m);
  }

  private drain(m: HeightMachine<S>): readonly CoreEffect<S>[] {
    if (m.effects.length === 0) return NO_EFFECTS;
    const out = m.effects;
    m.effects = [];
    return out;
  }

  private startHeight(input: Extract<CoreInput<S>, { kind: 'start-height' }>): readonly CoreEffect<S>[] {
    const prev = this.machine;
    if (!Number.isSafeInteger(input.height) || input.height <= 0) throw new RangeError('invalid height');
    if (prev !== undefined && input.height <= prev.height) throw new RangeError('heights only move forward');
    const round = input.round ?? 0;
    if (!Number.isSafeInteger(round) || round < 0) throw new RangeError('invalid round');
    const commit = prev?.commitVotes();
    if (prev !== undefined && commit !== undefined && input.height === prev.height + 1) {
      // L52: h_p ← h_p + 1 — L53: reset locked/valid values and the message log — L54: StartRound(0)
      this.options.trace?.(52);
      this.options.trace?.(53);
      this.options.trace?.(54);
      this.last = {
        height: commit.height,
        round: commit.round,
        valueId: commit.valueId,
        precommits: [...commit.precommits],
      };
    } else {
      this.last = undefined;
    }
    const m = new HeightMachine<S>({
      height: input.height,
      validatorSet: input.validatorSet,
      selfIndex: selfIndexIn(input.validatorSet, this.options.selfAddress),
      timeouts: input.timeouts ?? this.options.timeouts,
      trace: this.options.trace,
    });
    this.machine = m;
    m.start(round);
    return this.drain(m);
  }

  /** A precommit for the last decided height's decision round extends its commit. */
  private lateCommitVote(v: Extract<CoreInput<S>, { kind: 'vote' }>): void {
    const last = this.last;
    if (last === undefined || v.type !== 'precommit' || v.height !== last.height || v.round !== last.round)
      return;
    if (!Number.isInteger(v.validator) || v.validator < 0 || v.validator >= last.precommits.length) return;
    const existing = last.precommits[v.validator];
    // An equivocator's precommit for the decided block replaces its other one.
    if (existing === undefined || (existing.valueId !== last.valueId && v.valueId === last.valueId)) {
      last.precommits[v.validator] = { valueId: v.valueId, signed: v.signed };
    }
  }
}

function selfIndexIn(set: WeightedValidatorSet, address: Uint8Array | null): number {
  if (address === null) return -1;
  const vs = set.validators;
  for (let i = 0; i < vs.length; i++) {
    if (compareAddresses((vs[i] as { address: Uint8Array }).address, address) === 0) return i;
  }
  return -1;
}
