/**
 * The node's transport port: gossip of validated messages per topic, the
 * request/response protocols of block sync, and the peer list. @synod/p2p's
 * `Network` implements it over libp2p (its adapter is a later step); the
 * simulator over its simulated network; `MemoryNetwork` in memory.
 *
 * Topic and protocol names are @synod/p2p's (`GOSSIP_TOPICS`,
 * `REQRESP_PROTOCOLS`); the shapes are structurally its `ValidatedMessages`,
 * `StatusMessage`, `BlockWithCommit` and `RequestProvider`.
 */
import type {
  Block,
  Commit,
  Evidence,
  EvidenceChainView,
  SignedProposal,
  SignedVote,
  ValidatorSet,
} from '@synod/types';
import type { VerifySignatures } from './config.js';

/** The gossip topics, in the order they matter under load (consensus first). */
export const NODE_TOPICS = ['proposals', 'votes', 'evidence', 'txs'] as const;
export type NodeTopic = (typeof NODE_TOPICS)[number];

/** A proposal with its block (the block's hash equals the proposal's). */
export interface ProposalMessage {
  readonly signedProposal: SignedProposal;
  readonly block: Block;
}

/**
 * The message of each topic, as the transport hands it over: decoded, within
 * the wire limits, and through the transport's gossip validation (the node
 * checks everything again that consensus depends on: signatures, heights,
 * the application's verdict).
 */
export interface NodeMessages {
  readonly proposals: ProposalMessage;
  readonly votes: SignedVote;
  readonly evidence: Evidence;
  /** A transaction's bytes, as blocks carry them. */
  readonly txs: Uint8Array;
}

/** A received gossip message and the peer that relayed it (not necessarily its author). */
export interface Received<T> {
  readonly message: T;
  readonly from: string;
}

/** What a node says about its chain (the status protocol). */
export interface ChainStatus {
  /** Last committed height (0 before the first block). */
  readonly height: number;
  /** Hash of the block at `height` (32 zero bytes at height 0). */
  readonly lastBlockHash: Uint8Array;
  /** Lowest height whose block this node can serve. */
  readonly earliestHeight: number;
}

/** A decided block and the commit that decided it (block sync). */
export interface BlockWithCommit {
  readonly block: Block;
  readonly commit: Commit;
}

/**
 * The liveness protocol's question: "what do you hold for this height and
 * round?" A node asks it of a peer when its height has not advanced for a
 * while (messages lost, a partition healed, a restart): gossip does not
 * deliver a message twice, so whatever was lost is pulled back this way.
 */
export interface ConsensusRequest {
  readonly height: number;
  readonly round: number;
}

/**
 * The answer: the signed proposals (with blocks) and votes the peer holds
 * for the height, of the rounds that matter to a node stuck at `round` (the
 * peer's current and previous round, the requested round and the rounds of
 * the peer's lock and valid value, whose prevotes are the proof-of-lock a
 * re-proposal needs); or, when the peer decided the height already, the
 * block and its commit (the requester's engine decides from the commit's
 * precommits). Every message is checked again by the requester's engine;
 * the transport caps the counts and bytes (`CONSENSUS_REPLY_LIMITS`).
 */
export interface ConsensusReply {
  readonly proposals: readonly ProposalMessage[];
  readonly votes: readonly SignedVote[];
  readonly decided?: BlockWithCommit;
}

/** What the node serves to peers (the request/response protocols). */
export interface SyncProvider {
  status(): ChainStatus | Promise<ChainStatus>;
  /** The block with this hash (a stored block, or one of the height being decided), if known. */
  blockByHash(hash: Uint8Array): Block | undefined | Promise<Block | undefined>;
  /**
   * Consecutive stored blocks from `from` (inclusive) with their commits, up
   * to `to` (inclusive; the transport caps the batch). May return fewer.
   */
  blockRange(from: number, to: number): readonly BlockWithCommit[] | Promise<readonly BlockWithCommit[]>;
  /** The liveness protocol: what this node holds for `request` (see `ConsensusReply`). */
  consensus(request: ConsensusRequest): ConsensusReply | Promise<ConsensusReply>;
}

/**
 * What the transport's gossip validation reads from the node while it runs
 * (from memory: cheap enough for every message): the members of @synod/p2p's
 * `ValidationContext` that only the node knows — the height and round being
 * decided, the validator sets and proposer schedule of the heights in the
 * window, the committed chain for evidence, and the node's one verifier.
 */
export interface GossipValidationView {
  /**
   * The committed chain as evidence's height and time rules
   * (`evidenceTimeProblem`) see it: last height and block time, consensus
   * params, and the block time of the last `blockTimesCacheHeights` heights
   * (older ones are undefined: such evidence cannot be judged there).
   */
  evidenceChain(): EvidenceChainView;
  /** The height consensus is deciding (last committed height + 1). */
  currentHeight(): number;
  /** The round consensus is in at `currentHeight()` (0 while the engine is not running). */
  currentRound(): number;
  /** The validator set of `height`, for the heights the node knows (last committed .. + 2). */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /** Index in `validatorSetAt(height)` of the proposer of (height, round); cached per height. */
  proposerIndex(height: number, round: number): number | undefined;
  /** The node's signature check: the transport verifies with it, so each signature is verified once per node. */
  readonly verifySignature: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /** The node's check of many signatures, answered later (`NodeComponents.verifySignatures`), when it has one. */
  readonly verifySignatures?: VerifySignatures;
}

export interface NodeTransport {
  /** Gossips our message on `topic` (the transport relays what it receives; the node never re-publishes). */
  publish<T extends NodeTopic>(topic: T, message: NodeMessages[T]): void | Promise<void>;
  /** Receives the validated messages of `topic`; returns the unsubscribe function. */
  subscribe<T extends NodeTopic>(
    topic: T,
    handler: (received: Received<NodeMessages[T]>) => void | Promise<void>,
  ): () => void;
  /**
   * Gives the transport's gossip validation the node's view of the chain,
   * from start until the returned function is called (at stop). Optional: a
   * transport that does not validate (the in-memory one) has no use for it.
   */
  attachValidation?(view: GossipValidationView): () => void;
  /** Answers peers' sync requests with `provider` until the returned function is called. */
  serve(provider: SyncProvider): () => void;
  /** The chain status of `peer`. Rejects when the peer does not answer. */
  requestStatus(peer: string): Promise<ChainStatus>;
  /** The block with `hash`, from `peer` or any peer that has it; undefined when nobody does. */
  requestBlockByHash(hash: Uint8Array, options?: { readonly peer?: string }): Promise<Block | undefined>;
  /** Blocks `from`..`to` (inclusive) with their commits from `peer`; possibly fewer. */
  requestBlockRange(peer: string, from: number, to: number): Promise<readonly BlockWithCommit[]>;
  /** The liveness protocol: what `peer` holds for `request`. Rejects when the peer does not answer. */
  requestConsensus(peer: string, request: ConsensusRequest): Promise<ConsensusReply>;
  /** Peers we can send requests to. */
  peers(): readonly string[];
}
