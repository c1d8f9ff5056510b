/**
 * The engine's ports: everything impure the consensus engine touches. The real
 * node implements them over libp2p, LevelDB, the application and the wall
 * clock; the simulator over simulated ones. The WAL and signer ports
 * (`ConsensusWal`, `Signer`) are defined in @synod/types and implemented by
 * @synod/storage.
 */
import type {
  Block,
  Clock,
  Commit,
  ConsensusParams,
  ConsensusWal,
  Evidence,
  Logger,
  Metrics,
  SignedProposal,
  SignedVote,
  Signer,
  ValidatorSet,
} from '@synod/types';

/** Gossip, as consensus needs it. */
export interface ConsensusNetwork {
  /** Send our signed proposal and its block to every peer. */
  broadcastProposal(proposal: SignedProposal, block: Block): void | Promise<void>;
  /** Send our signed vote to every peer. */
  broadcastVote(vote: SignedVote): void | Promise<void>;
  /** Ask peers for the block with this hash; resolves with it, or undefined when nobody has it. */
  fetchBlock(hash: Uint8Array): Promise<Block | undefined>;
}

export interface BuildBlockRequest {
  readonly height: number;
  readonly round: number;
  readonly proposerAddress: Uint8Array;
  /** The commit of the previous height (EMPTY_COMMIT at the initial height). */
  readonly lastCommit: Commit;
  /** The engine's clock at the time of the request. */
  readonly timeMs: number;
}

export interface FinalizeBlockResult {
  /**
   * The validator set of the next height, with its stored proposer priorities
   * (see `advanceValidatorSet`: one increment of this height's, then the
   * changes that take effect at the next height — decided two heights before).
   */
  readonly nextValidatorSet: ValidatorSet;
  /** Consensus params of the next height, when they changed. */
  readonly consensusParams?: ConsensusParams;
}

/**
 * The application, as consensus needs it: the node composes it from the ABCI-style
 * `Application`, the mempool and its state (headers, app hash, validator sets).
 */
export interface ConsensusApplication {
  /** The paper's getValue(): build the block we propose. */
  buildBlock(request: BuildBlockRequest): Promise<Block>;
  /** The paper's valid(v), for a block of the current height (header, txs, last commit, evidence). */
  validateBlock(block: Block): Promise<boolean>;
  /** Execute and commit a decided block (already saved in the block store). */
  finalizeBlock(block: Block, commit: Commit): Promise<FinalizeBlockResult>;
}

/** The block store, as consensus needs it (structurally @synod/storage's BlockStore). */
export interface ConsensusBlockStore {
  /** Highest stored height, 0 when empty. */
  height(): number;
  /**
   * Save a decided block with the commit this node saw for it (one atomic
   * write), durable by the time `finalizeBlock` of the block has returned.
   */
  saveBlock(block: Block, seenCommit: Commit): Promise<void>;
}

/** Where detected misbehaviour goes (the evidence pool). */
export interface EvidenceSink {
  report(evidence: Evidence): void | Promise<void>;
}

/** Two valid commits for different blocks at one height: proof that more than 1/3 of the power is Byzantine. */
export interface ConflictingCommits {
  readonly kind: 'conflicting-commits';
  readonly height: number;
  readonly commitA: Commit;
  readonly commitB: Commit;
}

/**
 * Watches verified commits (structurally @synod/fault-detector's
 * `ConflictingCommitDetector`): returns the alert when a commit conflicts with
 * one seen before at its height.
 */
export interface CommitMonitor {
  observe(commit: Commit): ConflictingCommits | undefined;
}

export interface ConsensusEngineOptions {
  readonly chainId: string;
  /** The validator's signer, or null for a node that only follows. */
  readonly signer: Signer | null;
  readonly wal: ConsensusWal;
  readonly blockStore: ConsensusBlockStore;
  readonly network: ConsensusNetwork;
  readonly application: ConsensusApplication;
  /** Time and timers (the wall clock in the node, a simulated clock in the simulator). */
  readonly clock: Clock;
  readonly params: ConsensusParams;
  /** Where to start: the next height to decide, its validator set, and the commit of the height before. */
  readonly start: {
    readonly height: number;
    readonly validatorSet: ValidatorSet;
    readonly lastCommit: Commit;
  };
  readonly evidence?: EvidenceSink;
  readonly logger?: Logger;
  /** Prometheus-style metrics (default: none). */
  readonly metrics?: Metrics;
  /** Signature check (default: @synod/crypto's `verify`). */
  readonly verifySignature?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /** Called once if the engine halts (a port failed in a way that makes going on unsafe). */
  readonly onHalt?: (error: Error) => void;
  /**
   * Sees every commit the engine decides and every verified commit given to
   * `observeCommit` (sync, gossip). On a conflict the engine raises the
   * security alert: it stops producing blocks (halts with
   * SECURITY_CONFLICTING_COMMITS), logs the alert, shows it in `status()`,
   * and hands both commits to `onSecurityAlert` to be kept as evidence.
   */
  readonly commitMonitor?: CommitMonitor;
  readonly onSecurityAlert?: (alert: ConflictingCommits) => void;
  /**
   * Most messages buffered for the next height, in all (default 10,000); each
   * validator may hold at most 32 votes and 2 proposals of them.
   */
  readonly futureMessagesMax?: number;
  /**
   * Node-local multiplier of the chain's timeouts (`scaleTimeouts`, in
   * [TIMEOUT_SCALE_MIN, TIMEOUT_SCALE_MAX]); default 1.
   */
  readonly timeoutScale?: number;
  /**
   * Stop after deciding this height (coordinated upgrades): the block is
   * saved and finalized, and the next height is never started; `onHaltHeight`
   * is called once. 0 or absent: never.
   */
  readonly haltHeight?: number;
  readonly onHaltHeight?: (height: number) => void;
}
