/**
 * @synod/consensus — the Tendermint consensus core (pure) and its engine.
 * This file is the package's only public surface.
 */

export {
  type ConsensusWal,
  checkSignRequest,
  type LastSignState,
  type SignDecision,
  type Signer,
  type SignerStateStore,
  type SignRequest,
  type SignStep,
  type WalRecord,
} from '@synod/types';
export { ConsensusCore, type ConsensusCoreOptions } from './core.js';
export { ConsensusEngine, type EngineSignedMessage, type EngineStatus } from './engine/engine.js';
export type {
  BuildBlockRequest,
  CommitMonitor,
  ConflictingCommits,
  ConsensusApplication,
  ConsensusBlockStore,
  ConsensusEngineOptions,
  ConsensusNetwork,
  EvidenceSink,
  FinalizeBlockResult,
} from './engine/ports.js';
export {
  compareAddresses,
  INT64_MAX,
  INT64_MIN,
  incrementProposerPriority,
  type PriorityValidator,
  ProposerSchedule,
  proposerIndex,
} from './proposer/priority.js';
export {
  advanceValidatorSet,
  applyValidatorChanges,
  MAX_TOTAL_VOTING_POWER,
  newValidatorSetPriorities,
  ValidatorSetUpdateError,
  type ValidatorSetUpdateProblem,
} from './proposer/validator-set-update.js';
export { ROUND_LOOKAHEAD_MAX } from './round/height-machine.js';
export {
  commitTimeoutMs,
  scaleTimeouts,
  TIMEOUT_SCALE_MAX,
  TIMEOUT_SCALE_MIN,
  timeoutMs,
} from './timeouts.js';
export type {
  CommitVote,
  CommitVotes,
  CoreEffect,
  CoreEffectKind,
  CoreInput,
  CoreInputKind,
  CoreState,
  RoundStep,
  TimeoutParams,
  ValueId,
  VoteType,
  WeightedValidatorSet,
} from './types.js';
export {
  type AddVoteResult,
  DEFAULT_FUTURE_ROUND_QUOTA,
  type FutureRoundQuota,
  type KeptVote,
  type Threshold,
  VoteKeeper,
} from './vote-keeper/vote-keeper.js';
export {
  decodeWalEntry,
  encodeWalEntry,
  WAL_RECORD_VERSION,
  type WalEntry,
  type WalEntryKind,
} from './wal-records.js';
