/**
 * The pure core's vocabulary. It depends on nothing else in Synod but the
 * timeout parameters' type from @synod/types (type-only): values are
 * opaque ids (the engine uses the hex of the block hash), validators are
 * indices into the height's validator set, and signed messages are an opaque
 * payload `S` that the core only stores and hands back (duplicate-vote
 * evidence, the commit of a decision).
 */

import type { TimeoutParams } from '@synod/types';
import type { PriorityValidator } from './proposer/priority.js';

/** Identifies a proposed value (block) within a height. */
export type ValueId = string;

export type VoteType = 'prevote' | 'precommit';

/** The paper's step_p. */
export type RoundStep = 'propose' | 'prevote' | 'precommit';

/** A validator set as the core needs it (structurally a @synod/types ValidatorSet). */
export interface WeightedValidatorSet {
  /** Sorted by address; the index in this list is the validator's index at this height. */
  readonly validators: readonly PriorityValidator[];
}

/** Round timeouts: `ConsensusParams['timeouts']` of @synod/types. */
export type { TimeoutParams };

/**
 * Inputs of the core. The node's own proposal and votes are inputs too: the
 * core emits `broadcast-*` effects and counts them only when the caller
 * delivers them back (the engine after signing them, the interaction runner at
 * once). A message the signer refuses is thus never counted.
 */
export type CoreInput<S> =
  /** Start `height` (at `round`, default 0) with that height's validator set (and timeouts, when they changed). */
  | {
      readonly kind: 'start-height';
      readonly height: number;
      readonly validatorSet: WeightedValidatorSet;
      readonly round?: number;
      readonly timeouts?: TimeoutParams;
    }
  /**
   * A correctly signed proposal from validator `proposer`. `valid` is set when
   * the block came with it and was validated (true) or rejected (false).
   */
  | {
      readonly kind: 'proposal';
      readonly height: number;
      readonly round: number;
      readonly polRound: number;
      readonly valueId: ValueId;
      readonly proposer: number;
      readonly signed: S;
      readonly valid?: boolean;
    }
  /** The block of `valueId` arrived (with a proposal, or fetched by hash) and was validated. */
  | { readonly kind: 'block'; readonly height: number; readonly valueId: ValueId; readonly valid: boolean }
  /** A correctly signed vote; `valueId: null` is nil. */
  | {
      readonly kind: 'vote';
      readonly type: VoteType;
      readonly height: number;
      readonly round: number;
      readonly valueId: ValueId | null;
      readonly validator: number;
      readonly signed: S;
    }
  /** A timer scheduled by a `schedule-timeout` effect fired. */
  | { readonly kind: 'timeout'; readonly step: RoundStep; readonly height: number; readonly round: number }
  /** The value our node proposes, answering `request-value` (the paper's getValue()). */
  | { readonly kind: 'value'; readonly height: number; readonly round: number; readonly valueId: ValueId };

export type CoreInputKind = CoreInput<unknown>['kind'];

/** One validator's precommit in the decision round. */
export interface CommitVote<S> {
  readonly valueId: ValueId | null;
  readonly signed: S;
}

/** The precommits that decided a height: one slot per validator (undefined = absent). */
export interface CommitVotes<S> {
  readonly height: number;
  readonly round: number;
  readonly valueId: ValueId;
  readonly precommits: readonly (CommitVote<S> | undefined)[];
}

export type CoreEffect<S> =
  | {
      readonly kind: 'broadcast-proposal';
      readonly height: number;
      readonly round: number;
      readonly valueId: ValueId;
      readonly polRound: number;
    }
  | {
      readonly kind: 'broadcast-vote';
      readonly type: VoteType;
      readonly height: number;
      readonly round: number;
      readonly valueId: ValueId | null;
    }
  | {
      readonly kind: 'schedule-timeout';
      readonly step: RoundStep;
      readonly height: number;
      readonly round: number;
      readonly durationMs: number;
    }
  | { readonly kind: 'request-value'; readonly height: number; readonly round: number }
  | { readonly kind: 'request-block'; readonly height: number; readonly valueId: ValueId }
  | {
      readonly kind: 'decide';
      readonly height: number;
      readonly round: number;
      readonly valueId: ValueId;
      readonly commit: CommitVotes<S>;
    }
  | {
      readonly kind: 'duplicate-vote';
      readonly type: VoteType;
      readonly height: number;
      readonly round: number;
      readonly validator: number;
      readonly first: S;
      readonly second: S;
    }
  | {
      readonly kind: 'double-proposal';
      readonly height: number;
      readonly round: number;
      readonly validator: number;
      readonly first: S;
      readonly second: S;
    };

export type CoreEffectKind = CoreEffect<unknown>['kind'];

/** A snapshot of the paper's state variables. */
export interface CoreState {
  readonly height: number;
  readonly round: number;
  readonly step: RoundStep;
  readonly lockedValue: ValueId | null;
  readonly lockedRound: number;
  readonly validValue: ValueId | null;
  readonly validRound: number;
  /** The decided value of this height (the node waits for the next `start-height`), or null. */
  readonly decision: ValueId | null;
  /** Our index in this height's set, or -1 when we are not a validator at this height. */
  readonly selfIndex: number;
}
