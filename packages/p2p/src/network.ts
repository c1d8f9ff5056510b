import { createRequire } from 'node:module';
import { Server, type Socket } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, type GossipsubMessage, gossipsub, TopicValidatorResult } from '@libp2p/gossipsub';
import { type Identify, identify } from '@libp2p/identify';
import type { ConnectionGater, Ed25519PrivateKey, IdentifyResult, Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Ping, ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  type Clock,
  type ConsensusParams,
  type Counter,
  commitProblem,
  DecodeError,
  decodeBlock,
  type Evidence,
  encodeBlock,
  encodeEvidence,
  encodeSignedVote,
  LIMITS,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  type SignedProposal,
  type SignedVote,
  SynodError,
  type ValidatorSet,
} from '@synod/types';
import { createLibp2p } from 'libp2p';
import { wallClock } from './clock.js';
import {
  CONSENSUS_REPLY_LIMITS,
  CONSENSUS_REQUEST_BYTES,
  type ConsensusReply,
  type ConsensusReplyBounds,
  type ConsensusRequest,
  consensusReplyBounds,
  decodeConsensusReply,
  decodeConsensusRequest,
  encodeConsensusRequest,
  servableConsensusItems,
} from './codec/consensus-messages.js';
import { encodeProposalMessage } from './codec/proposal-message.js';
import {
  type BlockWithCommit,
  decodeBlockRangeRequest,
  decodeBlockWithCommit,
  decodeStatus,
  encodeBlockRangeRequest,
  encodeBlockWithCommitParts,
  encodeStatus,
  type ResponseChunk,
  STATUS_BYTES,
  type StatusMessage,
} from './codec/reqresp-messages.js';
import { txBatchBytes } from './codec/tx-batch.js';
import { withDeadline } from './deadline.js';
import { DEFAULT_MESH_OPTIONS, gossipsubOptions, type MeshOptions } from './gossip-config.js';
import {
  type GossipGuard,
  type GossipViolation,
  guardGossipRouter,
  type InboundGossipBudget,
  inboundGossipBudgetFor,
  penaltyOfViolation,
} from './gossip-guard.js';
import {
  DEFAULT_MESSAGE_LIMITS,
  DEFAULT_REQUEST_TIMEOUTS,
  type MessageLimits,
  proposalBytesMax,
  type RequestTimeouts,
  topicBytesMax,
} from './limits.js';
import { libp2pPrivateKey, type NodeKey, peerIdOfNodeKey } from './node-key.js';
import { createP2pMetrics, type P2pMetrics } from './p2p-metrics.js';
import { type InboundConnectionLimits, InboundIpGuard } from './peers/ip-guard.js';
import {
  DEFAULT_PEER_MANAGER_OPTIONS,
  type PeerInfo,
  PeerManager,
  type PeerManagerOptions,
} from './peers/peer-manager.js';
import {
  DEFAULT_REPUTATION,
  PeerReputation,
  type PenaltyReason,
  type ReputationOptions,
} from './peers/reputation.js';
import { DEFAULT_QUEUE_OPTIONS, GossipScheduler, type QueueOptions } from './queue/gossip-scheduler.js';
import { DEFAULT_SERVE_RATE_LIMITS, ServeRateLimiter, type ServeRateLimits } from './reqresp/rate-limiter.js';
import {
  RequestError,
  type RequestHandler,
  type ResponseLimits,
  sendRequest,
  serveStream,
} from './reqresp/transport.js';
import {
  agentVersion,
  GOSSIP_TOPICS,
  type GossipTopic,
  parseAgentVersion,
  protocolId,
  type ReqRespProtocol,
  TopicNames,
  WIRE_VERSION,
} from './topics.js';
import { DEFAULT_TX_BATCHING, TxBatcher, type TxBatchingOptions } from './tx-batcher.js';

/** @synod/p2p's version: the software version announced when the host gives none. */
const P2P_SOFTWARE_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/** How long a peer announcing an incompatible wire version is refused before it is dialled or accepted again. */
const INCOMPATIBLE_PEER_BAN_MS = 60_000;
/** How long an incompatible peer stays connected after the refusal (its identify of us completes). */
const INCOMPATIBLE_PEER_HANGUP_MS = 2_000;

import {
  GossipValidationAdapter,
  isProvablyInvalid,
  outcomeOfError,
  type ValidationOutcome,
} from './validation/adapter.js';
import type { GossipErrorCode } from './validation/gossip-error.js';
import { ProposalTracker } from './validation/proposal-tracker.js';
import {
  DEFAULT_HEIGHT_WINDOW,
  type HeightWindow,
  screenGossipMessage,
  type ValidatedMessages,
  type ValidatedTx,
  type ValidatedTxBatch,
  type ValidationContext,
  type ValidationParams,
  validateEvidence,
  validateProposal,
  validateTxBatch,
  validateVote,
} from './validation/validate.js';

/** What the node serves to peers' requests (backed by its block store). */
export interface RequestProvider {
  /** The node's chain status. */
  status(): StatusMessage | Promise<StatusMessage>;
  /** The block with this hash, if stored. */
  blockByHash(hash: Uint8Array): Block | undefined | Promise<Block | undefined>;
  /**
   * The stored encodings (SSZ) of the block at `height` and of its commit
   * (the block store's `loadBlockBytes(h)` and `loadCommitBytes(h)`), or
   * undefined when not stored. Block ranges are served from these bytes as
   * they are, one height at a time as the response is written: nothing is
   * decoded or re-encoded, and one block at a time is held.
   */
  encodedBlockWithCommit(
    height: number,
  ): EncodedBlockWithCommit | undefined | Promise<EncodedBlockWithCommit | undefined>;
  /**
   * The liveness protocol: the proposals (with blocks) and votes this node
   * holds for `request.height`, or the decided block and its commit. The
   * network serves only what fits the reply's bounds (`consensusReplyBounds`):
   * items of the asked height, at most `CONSENSUS_REPLY_LIMITS` of each kind.
   * Without it, the request is answered RESOURCE_UNAVAILABLE.
   */
  consensus?(request: ConsensusRequest): ConsensusReply | Promise<ConsensusReply>;
}

/** A stored block and its commit, as encoded bytes. */
export interface EncodedBlockWithCommit {
  /** SSZ(Block). */
  readonly block: Uint8Array;
  /** SSZ(Commit) of the block's height. */
  readonly commit: Uint8Array;
}

export interface NetworkOptions {
  readonly chainId: string;
  /**
   * The software version announced to peers (libp2p identify's agentVersion,
   * `synod/<version> p2p/<wire version>`). @default @synod/p2p's version
   */
  readonly softwareVersion?: string;
  /**
   * The wire version this node speaks: in every topic and protocol id, and
   * announced to peers; a peer announcing another one is refused (logged
   * with both versions). Only a test sets it. @default WIRE_VERSION
   */
  readonly wireVersion?: number;
  /** The node key (e.g. `loadNodeKey(path)` of @synod/crypto): its seed is the libp2p identity. */
  readonly nodeKey: NodeKey;
  /** Multiaddrs to listen on. @default ['/ip4/0.0.0.0/tcp/26656'] */
  readonly listen?: readonly string[];
  /** Multiaddrs to advertise instead of the listen addresses (public IP, NAT). */
  readonly announce?: readonly string[];
  /** Peers to stay connected to (`/ip4/…/tcp/…/p2p/<peer id>`). */
  readonly persistentPeers?: readonly string[];
  /** Peers to dial at start to join the network. */
  readonly bootstrapPeers?: readonly string[];
  /** Which addresses may be dialled (every dial passes through it). @default every address */
  readonly dialFilter?: (address: string) => boolean;
  /** Validation context: chain id, current height, validator sets, tx precheck (`setValidation` replaces it). */
  readonly validation: ValidationContext;
  /**
   * Answers peers' requests (`setProvider` replaces it). Without one, every
   * request but pex is answered RESOURCE_UNAVAILABLE.
   */
  readonly provider?: RequestProvider;
  readonly limits?: Partial<MessageLimits>;
  /**
   * The chain's consensus params: the proposal (and block) size limit is
   * their `block.maxBytes`, overriding `limits.blockBytesMax`. Call
   * `setConsensusParams` when they change. @default limits.blockBytesMax
   */
  readonly consensusParams?: ConsensusParams;
  readonly timeouts?: Partial<RequestTimeouts>;
  readonly heightWindow?: Partial<HeightWindow>;
  readonly queues?: Partial<QueueOptions>;
  readonly reputation?: Partial<ReputationOptions>;
  readonly peerManager?: Partial<PeerManagerOptions>;
  readonly mesh?: Partial<MeshOptions>;
  /**
   * How published transactions are grouped into batch messages (`publishTx`):
   * a batch goes out when full or `windowMs` after its first transaction.
   * @default DEFAULT_TX_BATCHING (20 ms, 64 transactions, 64 KiB), capped by `limits`
   */
  readonly txBatching?: Partial<TxBatchingOptions>;
  /**
   * What one peer may send us in gossip messages per second (messages and
   * bytes, token buckets on `clock`): a peer that has spent it is not read
   * (its stream paused) until it has earned some again, what one frame holds
   * beyond it is dropped before gossipsub sees it, and a peer that keeps
   * exceeding it is charged `gossip-flood`.
   * @default inboundGossipBudgetFor(proposalBytesMax(limits)): 2,000 messages/s
   * (burst 4,000), two of the largest proposals a second (burst four)
   */
  readonly inboundGossipBudget?: Partial<InboundGossipBudget>;
  /**
   * What one remote IP may do with inbound connections, judged before the
   * Noise handshake: a rate, a cap on handshakes in progress, and a ban of the
   * IP once `bannedPeersPerIp` of its peers were banned (see
   * `InboundConnectionLimits` for the NAT trade-off).
   * @default DEFAULT_INBOUND_CONNECTION_LIMITS
   */
  readonly inboundConnections?: Partial<InboundConnectionLimits>;
  /** How many peers a block request tries before giving up. @default 3 */
  readonly requestAttempts?: number;
  /**
   * What one peer may ask of this node, per request/response protocol (token
   * buckets on `clock`). An over-limit request is answered RATE_LIMITED and
   * costs the peer `bad-request` points. @default DEFAULT_SERVE_RATE_LIMITS
   */
  readonly serveRateLimits?: Partial<ServeRateLimits>;
  /** @default noopLogger */
  readonly logger?: Logger;
  /** @default noopMetrics */
  readonly metrics?: Metrics;
  /** Time for bans, backoff and periodic tasks. @default the wall clock */
  readonly clock?: Clock;
  /** Randomness for jitter and peer choice, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** A validated gossip message and the peer it came from. */
export interface Received<T> {
  readonly topic: GossipTopic;
  readonly message: T;
  /** Peer id of the peer that sent it to us (not necessarily its author). */
  readonly from: string;
}

export type GossipHandler<T> = (received: Received<T>) => void | Promise<void>;

/** How `requestBlockRange` verifies what it receives, and whom it asks. */
export interface BlockRangeOptions {
  /**
   * The validator set that decides `height` (the one its commit must carry
   * more than 2/3 of), or undefined when the caller does not know it yet: the
   * request then stops before that height.
   */
  readonly validatorSetAt: (height: number) => ValidatorSet | undefined | Promise<ValidatorSet | undefined>;
  /** Ask this peer only. */
  readonly peer?: string;
}

/**
 * `requestBlockRange` for a caller that verifies every commit's signatures
 * itself, against the set of each height it learns as it applies the blocks
 * (the node's block sync does, with its own signature verifier): every other
 * check still runs (heights, chain id, hash links, body against header,
 * commit for its block), only `commitProblem` is left to the caller. Said
 * explicitly, so no caller skips the check by forgetting an argument.
 */
export interface CallerVerifiedBlockRangeOptions {
  readonly commitSignatures: 'verified-by-caller';
  /** Ask this peer only. */
  readonly peer?: string;
}

/** A batch of a block-range request and the peer that served it. */
export interface BlockRangeResponse {
  readonly peer: string;
  /** Consecutive blocks from the requested `from`; may stop before `to` (size limits). */
  readonly items: readonly BlockWithCommit[];
}

type Services = { identify: Identify; ping: Ping; pubsub: GossipSub };

/** The parts of the gossipsub router used beyond its public interface. */
interface GossipRouter extends GossipSub {
  /** The router's own signature (the interface's has no options): per-call publish options. */
  publish(
    topic: string,
    data?: Uint8Array,
    opts?: { readonly allowPublishToZeroTopicPeers?: boolean },
  ): ReturnType<GossipSub['publish']>;
  reportMessageValidationResult(
    msgId: string,
    propagationSource: string,
    acceptance: TopicValidatorResult,
  ): void;
  getMeshPeers(topic: string): string[];
  getScore(peerId: string): number;
}

function isGossipRouter(g: GossipSub): g is GossipRouter {
  return (
    'reportMessageValidationResult' in g &&
    typeof g.reportMessageValidationResult === 'function' &&
    'getMeshPeers' in g &&
    typeof g.getMeshPeers === 'function' &&
    'getScore' in g &&
    typeof g.getScore === 'function'
  );
}

interface QueuedMessage {
  readonly topic: GossipTopic;
  readonly msgId: string;
  readonly from: string;
  readonly data: Uint8Array;
  /** data.length: what the message costs the queue's byte budgets. */
  readonly bytes: number;
  readonly receivedAtMs: number;
}

/**
 * What handlers of each topic receive: the validated message, except for
 * `txs`, where each admitted transaction of a batch is handed over on its own.
 */
export type DeliveredMessages = Omit<ValidatedMessages, 'txs'> & { readonly txs: ValidatedTx };

type HandlerSets = { [T in GossipTopic]: Set<GossipHandler<DeliveredMessages[T]>> };

interface Running {
  readonly node: Libp2p<Services>;
  readonly router: GossipRouter;
  readonly guard: GossipGuard;
  readonly scheduler: GossipScheduler<QueuedMessage>;
  readonly peerManager: PeerManager;
  readonly cancelGauges: () => void;
}

const EMPTY = new Uint8Array(0);

/** The largest yamux receive window of a stream: libp2p's default read buffer limit. */
const STREAM_WINDOW_MAX_BYTES = 4 * 1024 * 1024;

const ACCEPTED: ValidationOutcome = { action: 'ACCEPT' };
/** A batch with transactions the application precheck REJECTed: the rest are delivered, the batch not forwarded. */
const TX_BATCH_PARTLY_REJECTED: ValidationOutcome = {
  action: 'REJECT',
  reason: 'TX_REJECTED',
  message:
    'tx batch with transactions the application precheck rejected: the others delivered, not forwarded',
};
const DOUBLE_PROPOSAL: ValidationOutcome = {
  action: 'IGNORE',
  reason: 'DOUBLE_PROPOSAL',
  message: 'a second proposal for this height and round: delivered, not forwarded',
};

function zeroPerTopic(): Record<GossipTopic, number> {
  return Object.fromEntries(GOSSIP_TOPICS.map((t) => [t, 0])) as Record<GossipTopic, number>;
}

/** The block size limit of consensus params (validated: within the wire format's hard bound). */
function blockBytesMaxOf(params: ConsensusParams): number {
  const max = params.block.maxBytes;
  if (!Number.isSafeInteger(max) || max <= 0 || max > LIMITS.blockBytesMax) {
    throw new SynodError(
      'CONFIG_INVALID',
      `network: block.maxBytes ${max} outside (0, ${LIMITS.blockBytesMax}]`,
    );
  }
  return max;
}

/** Creates a network (not started). Derives the peer id from the node key. */
export async function createNetwork(options: NetworkOptions): Promise<Network> {
  const privateKey = await libp2pPrivateKey(options.nodeKey);
  const peerId = await peerIdOfNodeKey(options.nodeKey);
  return new Network(options, privateKey, peerId);
}

/**
 * Synod's network: gossip of proposals, votes, evidence and transactions with
 * one validation path, request/response for status and blocks, and a peer
 * manager. Create with `createNetwork`, then `start()`; `stop()` closes
 * everything and `start()` may be called again.
 */

/** A tx batch published when no peer was on the topic is tried again this often… */
const TX_BATCH_HOLD_MS = 1_000;
/** …this many times (then dropped: the transactions stay in the mempool)… */
const TX_BATCH_HOLD_ATTEMPTS = 120;
/** …and at most this many batches wait at once (a node alone for long: a single-validator chain). */
const TX_BATCHES_HELD_MAX = 64;

export class Network {
  readonly chainId: string;
  /** The wire version this node speaks (topic and protocol ids, identify). */
  readonly wireVersion: number;
  /** The software version announced to peers. */
  readonly softwareVersion: string;
  /** This node's peer id (from the node key). */
  readonly peerId: string;
  readonly timeouts: RequestTimeouts;
  /** Current limits; `blockBytesMax` follows the chain's `block.maxBytes` (see `setConsensusParams`). */
  private currentLimits: MessageLimits;
  private readonly topics: TopicNames;
  private params: ValidationParams;
  /** Proposals accepted per (height, round): the first is forwarded, one conflicting one only delivered. */
  private readonly proposals = new ProposalTracker();
  private readonly reputation: PeerReputation;
  /** Per-IP admission of inbound connections, before their handshake. */
  private readonly ipGuard: InboundIpGuard;
  private readonly metrics: P2pMetrics;
  /** What the inbound gossip budget dropped (gossip-guard.ts), by unit: messages, bytes. */
  private readonly overBudget: Counter;
  /** Peers' gossipsub streams paused by the inbound budget until it refilled. */
  private readonly budgetPauses: Counter;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly adapter: GossipValidationAdapter;
  private readonly handlers: HandlerSets = {
    proposals: new Set(),
    votes: new Set(),
    evidence: new Set(),
    txs: new Set(),
  };
  /** Fans each admitted transaction of a validated batch out to the `txs` handlers. */
  private readonly txBatchDelivery: Set<GossipHandler<ValidatedTxBatch>>;
  /** Groups the transactions this node publishes into batch messages. */
  private readonly txBatcher: TxBatcher;
  private readonly statusOfPeer = new Map<string, StatusMessage>();
  private readonly queueOptions: QueueOptions;
  private readonly peerOptions: PeerManagerOptions;
  private readonly mesh: MeshOptions;
  private readonly dialFilter: (address: string) => boolean;
  private readonly rateLimiter: ServeRateLimiter;
  private currentProvider: RequestProvider | undefined;
  private running: Running | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly options: NetworkOptions,
    private readonly privateKey: Ed25519PrivateKey,
    peerId: PeerId,
  ) {
    this.chainId = options.chainId;
    if (options.validation.chainId !== options.chainId) {
      throw new SynodError('CONFIG_INVALID', 'network: validation.chainId differs from chainId');
    }
    this.peerId = peerId.toString();
    this.currentLimits = {
      ...DEFAULT_MESSAGE_LIMITS,
      ...options.limits,
      ...(options.consensusParams === undefined
        ? {}
        : { blockBytesMax: blockBytesMaxOf(options.consensusParams) }),
    };
    this.timeouts = { ...DEFAULT_REQUEST_TIMEOUTS, ...options.timeouts };
    this.wireVersion = options.wireVersion ?? WIRE_VERSION;
    this.softwareVersion = options.softwareVersion ?? P2P_SOFTWARE_VERSION;
    this.topics = new TopicNames(options.chainId, this.wireVersion);
    this.currentProvider = options.provider;
    this.params = {
      ctx: options.validation,
      limits: this.currentLimits,
      window: { ...DEFAULT_HEIGHT_WINDOW, ...options.heightWindow },
      proposals: this.proposals,
    };
    this.clock = options.clock ?? wallClock;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? noopLogger).child({ module: 'p2p' });
    this.metrics = createP2pMetrics(options.metrics ?? noopMetrics);
    this.overBudget = (options.metrics ?? noopMetrics).counter({
      name: 'synod_p2p_gossip_over_budget_total',
      help: 'Gossip messages (and their bytes) dropped by the per-peer inbound budget before gossipsub',
      labelNames: ['unit'],
    });
    this.budgetPauses = (options.metrics ?? noopMetrics).counter({
      name: 'synod_p2p_gossip_paused_total',
      help: 'Peer gossipsub streams paused (not read) until the per-peer inbound budget refilled',
    });
    this.reputation = new PeerReputation(this.clock, {
      ...DEFAULT_REPUTATION,
      ...options.reputation,
      penalties: { ...DEFAULT_REPUTATION.penalties, ...options.reputation?.penalties },
    });
    this.ipGuard = new InboundIpGuard(this.clock, options.inboundConnections);
    this.queueOptions = {
      ...DEFAULT_QUEUE_OPTIONS,
      ...options.queues,
      topics: { ...DEFAULT_QUEUE_OPTIONS.topics, ...options.queues?.topics },
    };
    this.peerOptions = { ...DEFAULT_PEER_MANAGER_OPTIONS, ...options.peerManager };
    this.mesh = { ...DEFAULT_MESH_OPTIONS, ...options.mesh };
    this.dialFilter = options.dialFilter ?? (() => true);
    this.rateLimiter = new ServeRateLimiter(this.clock, {
      ...DEFAULT_SERVE_RATE_LIMITS,
      ...options.serveRateLimits,
    });
    this.txBatchDelivery = new Set([
      (received: Received<ValidatedTxBatch>) => {
        this.metrics.txBatchTxs.inc({ direction: 'received' }, received.message.txs.length);
        for (const tx of received.message.txs)
          this.deliver('txs', this.handlers.txs, { topic: 'txs', message: tx, from: received.from });
      },
    ]);
    const batching = { ...DEFAULT_TX_BATCHING, ...options.txBatching };
    const oneTx = txBatchBytes([this.currentLimits.txBytesMax]);
    if (
      this.currentLimits.txBatchBytesMax < oneTx ||
      !(this.currentLimits.txBatchTxsMax >= 1) ||
      !(batching.windowMs >= 0)
    ) {
      throw new SynodError(
        'CONFIG_INVALID',
        `network: a tx batch must hold at least one largest transaction (${oneTx} bytes) and the window be >= 0`,
      );
    }
    // libp2p runs on real time: the batch window is wall-clock time, not the injected clock
    this.txBatcher = new TxBatcher(
      {
        windowMs: batching.windowMs,
        maxTxs: Math.max(1, Math.min(batching.maxTxs, this.currentLimits.txBatchTxsMax)),
        maxBytes: Math.max(oneTx, Math.min(batching.maxBytes, this.currentLimits.txBatchBytesMax)),
      },
      wallClock,
      (batch, count) => this.publishTxBatch(batch, count),
    );
    this.adapter = new GossipValidationAdapter({
      report: (msgId, source, result, outcome) => {
        const r = this.running;
        if (r === undefined) return;
        r.router.reportMessageValidationResult(msgId, source, result);
        if (isProvablyInvalid(outcome)) r.guard.provenInvalid(msgId);
      },
      penalise: (peer, reason) => this.penalise(peer, reason),
      metrics: this.metrics,
      logger: this.logger,
    });
  }

  /** Current message limits (`blockBytesMax` follows the chain's `block.maxBytes`). */
  get limits(): MessageLimits {
    return this.currentLimits;
  }

  /**
   * New consensus params (e.g. FinalizeBlockResponse.consensusParamUpdates,
   * when they take effect): proposals and blocks are then limited to their
   * `block.maxBytes`. A smaller limit applies at once; gossipsub's frame limit
   * is fixed when the network starts, so a larger one applies to gossip after
   * `stop()` and `start()` (to requests at once).
   */
  setConsensusParams(params: ConsensusParams): void {
    const blockBytesMax = blockBytesMaxOf(params);
    if (blockBytesMax > this.currentLimits.blockBytesMax && this.running !== undefined) {
      this.logger.warn('block.maxBytes grew: gossip frames keep the start-time limit until a restart', {
        blockBytesMax,
      });
    }
    this.currentLimits = { ...this.currentLimits, blockBytesMax };
    this.params = { ...this.params, limits: this.currentLimits };
  }

  /** The validation context gossip is checked against (`NetworkOptions.validation`, or the last `setValidation`). */
  get validation(): ValidationContext {
    return this.params.ctx;
  }

  /**
   * Replaces the validation context (e.g. when the node attaches its view of
   * the chain at start, and detaches it at stop). Messages validated from now
   * on read the new one. Its chain id must be the network's.
   */
  setValidation(ctx: ValidationContext): void {
    if (ctx.chainId !== this.chainId)
      throw new SynodError('CONFIG_INVALID', 'network: validation.chainId differs from chainId');
    this.params = { ...this.params, ctx };
  }

  /**
   * Replaces what answers peers' requests (undefined: every request but pex
   * is answered RESOURCE_UNAVAILABLE). Requests arriving from now on are
   * answered by the new provider.
   */
  setProvider(provider: RequestProvider | undefined): void {
    this.currentProvider = provider;
  }

  /** What answers peers' requests now (`NetworkOptions.provider`, or the last `setProvider`). */
  get provider(): RequestProvider | undefined {
    return this.currentProvider;
  }

  // --- lifecycle ---------------------------------------------------------------

  get isStarted(): boolean {
    return this.running !== undefined;
  }

  async start(): Promise<void> {
    if (this.running !== undefined) return;
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const gater: ConnectionGater = {
      denyDialPeer: (peer) => this.reputation.isBanned(peer.toString()),
      denyDialMultiaddr: (addr) => !this.dialFilter(addr.toString()),
      // right after the TCP accept, before any handshake: the remote IP's limits
      denyInboundConnection: (maConn) => {
        const refusal = this.ipGuard.admit(maConn.remoteAddr, maConn);
        if (refusal !== undefined) {
          this.metrics.inboundRefused.inc({ reason: refusal, stage: 'gater' });
          return true;
        }
        maConn.addEventListener('close', () => this.ipGuard.settled(maConn), { once: true });
        return false;
      },
      denyInboundEncryptedConnection: (peer) => this.reputation.isBanned(peer.toString()),
      denyOutboundEncryptedConnection: (peer) => this.reputation.isBanned(peer.toString()),
      denyInboundUpgradedConnection: (_peer, maConn) => {
        this.ipGuard.settled(maConn);
        return false;
      },
    };
    const node = await createLibp2p<Services>({
      privateKey: this.privateKey,
      addresses: {
        listen: [...(this.options.listen ?? ['/ip4/0.0.0.0/tcp/26656'])],
        ...(this.options.announce === undefined ? {} : { announce: [...this.options.announce] }),
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      // a stream's window never exceeds what its reader buffers while paused (libp2p's
      // 4 MiB maxReadBufferLength): a peer whose stream the inbound budget pauses can fill
      // the buffer, not overflow it (an overflow aborted the stream, the flooder opened
      // another, and every byte of each was decrypted; yamux's default window grows to 16 MiB)
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: STREAM_WINDOW_MAX_BYTES } })],
      connectionGater: gater,
      connectionManager: {
        // the peer manager enforces maxPeers; libp2p only prunes far beyond it
        maxConnections: this.peerOptions.maxPeers + 16,
        // per-IP rates are the gater's (InboundIpGuard: a token bucket, IPv6 by prefix,
        // an allow list); libp2p's own per-host limit is set out of its way
        inboundConnectionThreshold: Number.MAX_SAFE_INTEGER,
        maxIncomingPendingConnections: this.ipGuard.limits.pendingMax,
        dialTimeout: this.peerOptions.dialTimeoutMs,
      },
      // under load a ping can be slow; a slow ping must never abort a connection
      // (that dropped half the messages in a load test). Delinquency is ours.
      connectionMonitor: {
        abortConnectionOnPingFailure: false,
        // one ping interval for the node: the monitor's round trips are sampled at the peer manager's
        pingInterval: this.peerOptions.pingIntervalMs,
      },
      nodeInfo: {
        name: 'synod',
        version: this.softwareVersion,
        userAgent: agentVersion(this.softwareVersion, this.wireVersion),
      },
      services: {
        identify: identify(),
        // Two pingers share the protocol on every connection: libp2p's connection monitor (the
        // round trips of synod_p2p_ping_rtt_seconds) and the peer manager (delinquency), both every
        // 10 s from the start, so in step. With the protocol's limit of one outbound stream, the
        // peer manager's ping met the monitor's open stream and failed (TooManyOutboundProtocol-
        // Streams): a test at the default interval saw 9 of 18 fail, a chaos run 1 in 30 succeed.
        // One stream each, and room on the answering side for both pingers of a peer plus a
        // stream still closing.
        ping: ping({ maxOutboundStreams: 2, maxInboundStreams: 4 }),
        pubsub: gossipsub(
          gossipsubOptions({
            topics: this.topics,
            limits: this.limits,
            mesh: this.mesh,
            appScore: (peer) => -this.reputation.points(peer),
          }),
        ),
      },
      start: false,
    });
    const pubsub = node.services.pubsub;
    if (!isGossipRouter(pubsub))
      throw new SynodError('INTERNAL', 'unsupported @libp2p/gossipsub: no async validation API');
    const router = pubsub;
    const guard = guardGossipRouter(router, {
      isOurTopic: (name) => this.topics.topicOf(name) !== undefined,
      violation: (peer, kind) => this.onViolation(peer, kind),
      // the byte allowance follows the chain's largest proposal (fixed at start, like the frame limit)
      budget: {
        ...inboundGossipBudgetFor(proposalBytesMax(this.limits)),
        ...this.options.inboundGossipBudget,
      },
      clock: this.clock,
      dropped: (_peer, messages, bytes) => {
        this.overBudget.inc({ unit: 'messages' }, messages);
        this.overBudget.inc({ unit: 'bytes' }, bytes);
      },
      paused: () => this.budgetPauses.inc(),
      screen: (peer, name, data) => this.screen(peer, name, data),
    });
    const itemBytesMax = Object.fromEntries(
      GOSSIP_TOPICS.map((t) => [t, topicBytesMax(t, this.limits)]),
    ) as Record<GossipTopic, number>;
    const scheduler = new GossipScheduler<QueuedMessage>(
      this.queueOptions,
      {
        process: (item) => this.process(item),
        dropped: (item, topic, cause) => {
          this.metrics.queueDropped.inc({ topic });
          this.adapter.settle(
            topic,
            item.msgId,
            item.from,
            cause === 'peer-dropped'
              ? { action: 'IGNORE', reason: 'PEER_BANNED', message: 'sender banned' }
              : { action: 'IGNORE', reason: 'QUEUE_FULL', message: 'queue full' },
          );
        },
      },
      itemBytesMax,
    );
    await this.registerProtocols(node);
    router.addEventListener('gossipsub:message', (evt: CustomEvent<GossipsubMessage>) =>
      this.onGossip(evt, scheduler, router),
    );
    let peerManager: PeerManager;
    try {
      peerManager = new PeerManager({
        node,
        options: this.peerOptions,
        persistentPeers: this.options.persistentPeers ?? [],
        bootstrapPeers: this.options.bootstrapPeers ?? [],
        clock: this.clock,
        random: this.random,
        logger: this.logger,
        metrics: this.metrics,
        isBanned: (peer) => this.reputation.isBanned(peer),
        isDialable: (addr) => this.dialFilter(addr.toString()),
        exchangePeers: (peer) => this.exchangePeers(peer),
      });
      node.addEventListener('peer:identify', (evt) => this.checkPeerVersion(node, evt.detail));
      await node.start();
      this.refuseAtAccept(node);
      for (const name of this.topics.all()) router.subscribe(name);
    } catch (err) {
      try {
        await node.stop();
      } catch {
        // already failing: the start error is the one to report
      }
      throw err;
    }
    const cancelGauges = this.startGauges(scheduler);
    this.running = { node, router, guard, scheduler, peerManager, cancelGauges };
    peerManager.start();
    this.logger.info('network started', { peerId: this.peerId, addresses: this.addresses() });
  }

  /**
   * The version check of the handshake: a Synod peer whose identify
   * announces another wire version speaks other topic and protocol ids (it
   * could never exchange a message with us) and is refused: disconnected,
   * not dialled or accepted for a minute, one log line naming both versions.
   * A peer announcing no Synod agent is left to the protocols (it gets no
   * answer on ids it does not speak).
   */
  private checkPeerVersion(node: Libp2p<Services>, result: IdentifyResult): void {
    const agent = result.agentVersion ?? '';
    const theirs = parseAgentVersion(agent);
    if (theirs === undefined || theirs.wire === this.wireVersion) return;
    const peer = result.peerId.toString();
    this.logger.warn('peer refused: incompatible protocol version', {
      event: 'peer_incompatible',
      peer,
      ourProtocolVersion: this.wireVersion,
      peerProtocolVersion: theirs.wire,
      ourSoftwareVersion: this.softwareVersion,
      peerSoftwareVersion: theirs.software,
    });
    this.metrics.bans.inc({ reason: 'incompatible_version' });
    this.reputation.ban(peer, 'incompatible protocol version', INCOMPATIBLE_PEER_BAN_MS);
    // Hung up after a moment, so that the peer's own identify of us completes and it logs the
    // refusal too (an immediate hang-up aborts it); meanwhile no topic or protocol id matches.
    this.clock.setTimer(INCOMPATIBLE_PEER_HANGUP_MS, () => {
      node.hangUp(result.peerId).catch(() => {});
    });
  }

  /**
   * Turns away, as the TCP listener accepts it, a connection its IP's limits
   * would refuse anyway (`InboundIpGuard.wouldRefuse`), before libp2p wraps the
   * socket, starts an upgrade and asks the gater: a refused connection then
   * costs ~0.07 ms of CPU instead of ~0.28 ms (a host flooding connects from
   * a banned IP). It reaches into @libp2p/tcp's listener (its net.Server);
   * without it, the gater still refuses, later.
   */
  private refuseAtAccept(node: Libp2p<Services>): void {
    type Internals = { components?: { transportManager?: { getListeners?(): { server?: unknown }[] } } };
    const listeners = (node as unknown as Internals).components?.transportManager?.getListeners?.() ?? [];
    let hooked = 0;
    for (const listener of listeners) {
      const server = listener.server;
      if (!(server instanceof Server)) continue;
      const accept = server.listeners('connection') as ((socket: Socket) => void)[];
      const [original] = accept;
      if (accept.length !== 1 || original === undefined) continue;
      server.removeListener('connection', original);
      server.on('connection', (socket: Socket) => {
        const ip = socket.remoteAddress;
        const refusal = ip === undefined ? undefined : this.ipGuard.wouldRefuse(ip);
        if (refusal === undefined) {
          original.call(server, socket);
          return;
        }
        this.metrics.inboundRefused.inc({ reason: refusal, stage: 'accept' });
        // a reset, not a close: no TIME_WAIT left on our side per refused connection
        socket.resetAndDestroy();
      });
      hooked++;
    }
    if (hooked === 0)
      this.logger.warn('no TCP listener to guard at accept: the connection gater refuses, later', {});
  }

  async stop(): Promise<void> {
    if (this.starting !== undefined) await this.starting.catch(() => {});
    const r = this.running;
    if (r === undefined) return;
    // what was submitted here still goes out (best effort) before the router stops
    this.txBatcher.flush();
    for (const timer of this.heldTxBatches) clearTimeout(timer);
    this.heldTxBatches.clear();
    this.running = undefined;
    r.cancelGauges();
    r.peerManager.stop();
    r.scheduler.stop();
    await r.node.stop();
    this.statusOfPeer.clear();
    this.logger.info('network stopped', { peerId: this.peerId });
  }

  private startGauges(scheduler: GossipScheduler<QueuedMessage>): () => void {
    let cancel: () => void = () => {};
    const tick = (): void => {
      for (const [topic, n] of Object.entries(scheduler.lengths()))
        this.metrics.queueLength.set(n, { topic });
      for (const [topic, n] of Object.entries(scheduler.byteLengths()))
        this.metrics.queueBytes.set(n, { topic });
      this.reputation.prune();
      cancel = this.clock.setTimer(1_000, tick);
    };
    cancel = this.clock.setTimer(1_000, tick);
    return () => cancel();
  }

  private need(): Running {
    if (this.running === undefined) throw new SynodError('INTERNAL', 'network is not started');
    return this.running;
  }

  /** The addresses this node listens on, each ending in /p2p/<peer id>. */
  addresses(): string[] {
    return this.running?.node.getMultiaddrs().map((a) => a.toString()) ?? [];
  }

  // --- gossip: receiving -----------------------------------------------------------

  /** Subscribes `handler` to validated messages of `topic`; returns the unsubscribe function. */
  on<T extends GossipTopic>(topic: T, handler: GossipHandler<DeliveredMessages[T]>): () => void {
    const set: Set<GossipHandler<DeliveredMessages[T]>> = this.handlers[topic];
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  onProposal(handler: GossipHandler<ValidatedMessages['proposals']>): () => void {
    return this.on('proposals', handler);
  }

  onVote(handler: GossipHandler<SignedVote>): () => void {
    return this.on('votes', handler);
  }

  onEvidence(handler: GossipHandler<Evidence>): () => void {
    return this.on('evidence', handler);
  }

  /** Each admitted transaction of every valid batch, on its own. */
  onTx(handler: GossipHandler<ValidatedTx>): () => void {
    return this.on('txs', handler);
  }

  private onGossip(
    evt: CustomEvent<GossipsubMessage>,
    scheduler: GossipScheduler<QueuedMessage>,
    router: GossipRouter,
  ): void {
    const { msgId, propagationSource, msg } = evt.detail;
    const from = propagationSource.toString();
    const topic = this.topics.topicOf(msg.topic);
    if (topic === undefined) {
      router.reportMessageValidationResult(msgId, from, TopicValidatorResult.Ignore);
      return;
    }
    // a banned peer's messages still in gossipsub's pipeline are not worth a look
    if (this.reputation.isBanned(from)) {
      this.adapter.settle(topic, msgId, from, {
        action: 'IGNORE',
        reason: 'PEER_BANNED',
        message: 'sender banned',
      });
      return;
    }
    // [REJECT] larger than any message of the topic: never queued
    const max = topicBytesMax(topic, this.limits);
    if (msg.data.length > max) {
      this.adapter.settle(topic, msgId, from, {
        action: 'REJECT',
        reason: 'MESSAGE_TOO_LARGE',
        message: `${topic} message of ${msg.data.length} bytes exceeds ${max}`,
      });
      return;
    }
    // (a small message has its own buffer, not a view into its frame: gossip-guard.ts)
    const data = msg.data;
    scheduler.push(topic, {
      topic,
      msgId,
      from,
      data,
      bytes: data.length,
      receivedAtMs: performance.now(),
    });
  }

  /**
   * Before gossipsub: what a banned peer still sends (read before its
   * connection closed), and a vote or proposal outside the height window or
   * round look-ahead (`screenGossipMessage`), are IGNOREd where they are
   * decoded, with the metric and log line of any IGNORE: gossipsub keeps no
   * record of them. True when it is dropped.
   */
  private screen(peer: string, name: string, data: Uint8Array): boolean {
    const topic = this.topics.topicOf(name);
    if (topic === undefined) return false;
    let reason: GossipErrorCode;
    if (this.reputation.isBanned(peer)) reason = 'PEER_BANNED';
    else if (topic === 'votes' || topic === 'proposals') {
      const problem = screenGossipMessage(topic, data, this.params);
      if (problem === undefined) return false;
      reason = problem.reason;
    } else return false;
    this.metrics.gossipMessages.inc({ topic, action: 'ignore', reason });
    this.logger.debug('gossip message ignored', { topic, peer, reason });
    return true;
  }

  /** Gossipsub-level garbage (see gossip-guard.ts): a metric, a log line, and a penalty. */
  private onViolation(peer: string, kind: GossipViolation): void {
    this.metrics.gossipViolations.inc({ kind });
    this.logger.warn('gossip protocol violation', { peer, kind });
    if (!this.reputation.isBanned(peer)) this.penalise(peer, penaltyOfViolation(kind));
  }

  private process(item: QueuedMessage): void | Promise<void> {
    const data = item.data;
    switch (item.topic) {
      case 'proposals':
        // a conflicting (second) proposal of a round is delivered but not forwarded
        return this.run(
          item,
          () => validateProposal(data, this.params),
          this.handlers.proposals,
          (v) => (v.conflicting ? DOUBLE_PROPOSAL : ACCEPTED),
        );
      case 'votes':
        return this.run(item, () => validateVote(data, this.params), this.handlers.votes);
      case 'evidence':
        return this.run(item, () => validateEvidence(data, this.params), this.handlers.evidence);
      case 'txs':
        // one batch: decoded once, each transaction checked; a batch the precheck partly rejects is not forwarded
        return this.run(
          item,
          () => validateTxBatch(data, this.params),
          this.txBatchDelivery,
          (v) => (v.rejected > 0 ? TX_BATCH_PARTLY_REJECTED : ACCEPTED),
        );
    }
  }

  /** Validates one queued message, settles it through the adapter, delivers it on ACCEPT. */
  private run<V>(
    item: QueuedMessage,
    validate: () => V | Promise<V>,
    handlers: Set<GossipHandler<V>>,
    outcomeOf: (value: V) => ValidationOutcome = () => ACCEPTED,
  ): void | Promise<void> {
    let result: V | Promise<V>;
    try {
      result = validate();
    } catch (err) {
      this.settleError(item, err);
      return;
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.accept(item, value, handlers, outcomeOf(value)),
        (err: unknown) => this.settleError(item, err),
      );
    }
    this.accept(item, result, handlers, outcomeOf(result));
  }

  private settleError(item: QueuedMessage, err: unknown): void {
    this.observeValidation(item);
    this.adapter.settle(item.topic, item.msgId, item.from, outcomeOfError(err));
  }

  /** Settles a valid message (ACCEPT forwards it; IGNORE does not) and hands it to our handlers. */
  private accept<V>(
    item: QueuedMessage,
    value: V,
    handlers: Set<GossipHandler<V>>,
    outcome: ValidationOutcome,
  ): void {
    this.observeValidation(item);
    // forward first (others wait on us), then hand to our own handlers
    this.adapter.settle(item.topic, item.msgId, item.from, outcome);
    this.deliver(item.topic, handlers, { topic: item.topic, message: value, from: item.from });
  }

  /** Hands one message to each handler; a handler's failure is logged, never thrown. */
  private deliver<V>(topic: GossipTopic, handlers: Set<GossipHandler<V>>, received: Received<V>): void {
    for (const handler of handlers) {
      try {
        const r = handler(received);
        if (r instanceof Promise) r.catch((err: unknown) => this.handlerFailed(topic, err));
      } catch (err) {
        this.handlerFailed(topic, err);
      }
    }
  }

  private observeValidation(item: QueuedMessage): void {
    this.metrics.validationSeconds.observe((performance.now() - item.receivedAtMs) / 1000, {
      topic: item.topic,
    });
  }

  private handlerFailed(topic: GossipTopic, err: unknown): void {
    this.logger.error('gossip handler failed', {
      topic,
      error: err instanceof Error ? err.message : String(err),
    });
  }

  // --- gossip: publishing ------------------------------------------------------------

  /** Publishes a vote; returns how many peers it was sent to. */
  publishVote(sv: SignedVote): Promise<number> {
    return this.publish('votes', encodeSignedVote(sv));
  }

  /** Publishes a proposal together with its block. */
  publishProposal(signedProposal: SignedProposal, block: Block): Promise<number> {
    return this.publish('proposals', encodeProposalMessage({ signedProposal, block }));
  }

  publishEvidence(evidence: Evidence): Promise<number> {
    return this.publish('evidence', encodeEvidence(evidence));
  }

  /**
   * Queues an encoded transaction for gossip: it goes out in a batch message
   * (see `txBatching`) when the batch is full or its window has passed, or on
   * `flushTxs()`. Resolves once queued; a failure to publish the batch is
   * logged (gossip is best effort). Throws P2P_MESSAGE_TOO_LARGE for a
   * transaction above `limits.txBytesMax`.
   */
  async publishTx(txBytes: Uint8Array): Promise<void> {
    this.need();
    const max = this.limits.txBytesMax;
    if (txBytes.length === 0 || txBytes.length > max) {
      throw new SynodError('P2P_MESSAGE_TOO_LARGE', `tx of ${txBytes.length} bytes (1…${max} allowed)`);
    }
    this.txBatcher.add(txBytes);
  }

  /** Publishes the transactions waiting for their batch now; returns how many went. */
  flushTxs(): number {
    return this.running === undefined ? 0 : this.txBatcher.flush();
  }

  /** Transactions waiting for their batch. */
  get pendingTxs(): number {
    return this.txBatcher.size;
  }

  private publishTxBatch(batch: Uint8Array, count: number, attempt = 0): void {
    if (attempt === 0) this.metrics.txBatchTxs.inc({ direction: 'published' }, count);
    // Not to zero peers: gossipsub would record the batch as seen (its id is the hash of its bytes)
    // and send it nowhere, and no node gossips a transaction twice, so one accepted while this node
    // had no peer on the topic (starting, reconnecting) would wait in its mempool for ever. Such a
    // batch waits here (bounded) and goes out once a peer is there.
    this.publish('txs', batch, { allowPublishToZeroTopicPeers: false }).catch((err: unknown) => {
      const error = err instanceof Error ? err.message : String(err);
      if (error.includes('NoPeersSubscribedToTopic') && this.running !== undefined) {
        this.holdTxBatch(batch, count, attempt);
        return;
      }
      this.logger.debug('tx batch not published', { txs: count, error });
    });
  }

  /** Batches waiting for a peer on the tx topic (see publishTxBatch), oldest first. */
  private readonly heldTxBatches = new Set<ReturnType<typeof setTimeout>>();

  private holdTxBatch(batch: Uint8Array, count: number, attempt: number): void {
    if (attempt >= TX_BATCH_HOLD_ATTEMPTS || this.heldTxBatches.size >= TX_BATCHES_HELD_MAX) {
      this.logger.debug('tx batch not published', { txs: count, error: 'no peer on the topic' });
      return;
    }
    const timer = setTimeout(() => {
      this.heldTxBatches.delete(timer);
      if (this.running !== undefined) this.publishTxBatch(batch, count, attempt + 1);
    }, TX_BATCH_HOLD_MS);
    timer.unref?.();
    this.heldTxBatches.add(timer);
  }

  private async publish(
    topic: GossipTopic,
    data: Uint8Array,
    options?: { readonly allowPublishToZeroTopicPeers?: boolean },
  ): Promise<number> {
    const { router } = this.need();
    const max = topicBytesMax(topic, this.limits);
    if (data.length > max) {
      throw new SynodError(
        'P2P_MESSAGE_TOO_LARGE',
        `${topic} message of ${data.length} bytes exceeds ${max}`,
      );
    }
    const result = await router.publish(this.topics.byTopic[topic], data, options);
    this.metrics.published.inc({ topic });
    return result.recipients.length;
  }

  // --- request/response: serving ------------------------------------------------------

  private async registerProtocols(node: Libp2p<Services>): Promise<void> {
    const serve = async (
      protocol: ReqRespProtocol,
      requestBytesMax: number,
      maxInboundStreams: number,
      handler: RequestHandler,
    ): Promise<void> => {
      const id = protocolId(this.chainId, protocol, this.wireVersion);
      await node.handle(
        id,
        (stream, connection) =>
          serveStream(stream, connection, {
            protocol: id,
            requestBytesMax,
            readTimeoutMs: this.timeouts.requestReadMs,
            writeTimeoutMs: this.timeoutOf(protocol),
            handler,
            admit: (peer) => this.rateLimiter.take(peer.toString(), protocol),
            onBadRequest: (peer, kind) => {
              // A security event naming the protocol: a correct peer never sends one.
              this.metrics.badRequests.inc({ protocol, kind });
              this.logger.warn('bad request', {
                event: 'bad_request',
                peer: peer.toString(),
                protocol,
                kind,
              });
              this.penalise(peer.toString(), kind, protocol);
            },
            onRateLimited: (peer) => {
              this.logger.debug('request over the rate limit', { peer: peer.toString(), protocol });
              this.penalise(peer.toString(), 'bad-request', protocol);
            },
            onServed: (result) => this.metrics.served.inc({ protocol, result }),
          }),
        { maxInboundStreams },
      );
    };
    await serve('status', 0, 8, async () => this.serveStatus());
    await serve('block-by-hash', 32, 8, async (request) => this.serveBlockByHash(request));
    await serve('block-range', 16, 4, async (request) => this.serveBlockRange(request));
    await serve('pex', 0, 2, async (_request, peer) => this.servePex(peer));
    await serve('consensus', CONSENSUS_REQUEST_BYTES, 2, async (request) => this.serveConsensus(request));
  }

  private timeoutOf(protocol: ReqRespProtocol): number {
    switch (protocol) {
      case 'status':
        return this.timeouts.statusMs;
      case 'block-by-hash':
        return this.timeouts.blockByHashMs;
      case 'block-range':
        return this.timeouts.blockRangeMs;
      case 'pex':
        return this.timeouts.pexMs;
      case 'consensus':
        return this.timeouts.consensusMs;
    }
  }

  private async serveStatus(): Promise<ResponseChunk[]> {
    const provider = this.provider;
    if (provider === undefined) return [{ result: 'RESOURCE_UNAVAILABLE', payload: EMPTY }];
    return [{ result: 'SUCCESS', payload: encodeStatus(await provider.status()) }];
  }

  private async serveBlockByHash(request: Uint8Array): Promise<ResponseChunk[]> {
    if (request.length !== 32)
      throw new DecodeError('DECODE_INVALID_BYTES', `block-by-hash: request of ${request.length} bytes`);
    const block = await this.provider?.blockByHash(request);
    if (block === undefined) return [{ result: 'RESOURCE_UNAVAILABLE', payload: EMPTY }];
    return [{ result: 'SUCCESS', payload: encodeBlock(block) }];
  }

  private async serveBlockRange(
    request: Uint8Array,
  ): Promise<AsyncIterable<ResponseChunk> | readonly ResponseChunk[]> {
    const { from, to } = decodeBlockRangeRequest(request);
    const provider = this.provider;
    if (provider === undefined) return [{ result: 'RESOURCE_UNAVAILABLE', payload: EMPTY }];
    return this.streamBlockRange(provider, from, Math.min(to, from + this.limits.rangeBlocksMax - 1));
  }

  /**
   * The chunks of a block-range answer, read from the provider's stored bytes
   * one height at a time: the next height is read only after the previous
   * chunk was written (serveStream waits for the stream to drain). Stops at
   * the first height not stored, at a block or commit above our own limits
   * (a client would refuse it), or before the byte budget; the first block
   * always goes.
   */
  private async *streamBlockRange(
    provider: RequestProvider,
    from: number,
    last: number,
  ): AsyncGenerator<ResponseChunk, void, undefined> {
    let total = 0;
    let sent = 0;
    for (let height = from; height <= last; height++) {
      const stored = await provider.encodedBlockWithCommit(height);
      if (stored === undefined) break;
      if (
        stored.block.length > this.limits.blockBytesMax ||
        stored.commit.length > this.limits.commitBytesMax
      )
        break;
      const chunkBytes = 1 + 4 + stored.block.length + stored.commit.length;
      if (sent > 0 && total + chunkBytes > this.limits.rangeResponseBytesMax) break;
      total += chunkBytes;
      sent++;
      yield { result: 'SUCCESS', payload: encodeBlockWithCommitParts(stored.block, stored.commit) };
    }
    if (sent === 0) yield { result: 'RESOURCE_UNAVAILABLE', payload: EMPTY };
  }

  /** The bounds of a consensus reply about `height`: its validator set's size, when known here. */
  private consensusBounds(height: number): ConsensusReplyBounds {
    let validators: number = LIMITS.validatorsMax;
    try {
      validators = this.params.ctx.validatorSetAt(height)?.validators.length ?? LIMITS.validatorsMax;
    } catch {
      // the host's context failed: the hard bound still holds
    }
    return consensusReplyBounds(this.limits, Math.min(Math.max(validators, 1), LIMITS.validatorsMax));
  }

  private async serveConsensus(
    request: Uint8Array,
  ): Promise<Iterable<ResponseChunk> | readonly ResponseChunk[]> {
    const asked = decodeConsensusRequest(request);
    const provider = this.provider;
    if (provider?.consensus === undefined) return [{ result: 'RESOURCE_UNAVAILABLE', payload: EMPTY }];
    const reply = await provider.consensus(asked);
    const items = servableConsensusItems(asked.height, reply, this.consensusBounds(asked.height));
    return (function* () {
      for (const payload of items) yield { result: 'SUCCESS' as const, payload };
    })();
  }

  private async servePex(peer: PeerId): Promise<ResponseChunk[]> {
    const pm = this.running?.peerManager;
    if (pm === undefined) return [];
    const addrs = await pm.shareablePeers(peer, this.limits.pexAddressesMax);
    return addrs.map((a) => ({ result: 'SUCCESS', payload: a.bytes }));
  }

  // --- request/response: asking ------------------------------------------------------

  private async request(
    protocol: ReqRespProtocol,
    peer: PeerId,
    payload: Uint8Array,
    limits: ResponseLimits,
  ): Promise<ResponseChunk[]> {
    const { node, peerManager } = this.need();
    const key = peer.toString();
    const id = protocolId(this.chainId, protocol, this.wireVersion);
    const started = performance.now();
    try {
      if (this.reputation.isBanned(key)) throw new RequestError('banned', id, key, `${key} is banned`);
      const chunks = await sendRequest(node, peer, id, payload, this.timeoutOf(protocol), limits);
      this.metrics.requests.inc({ protocol, result: 'ok' });
      peerManager.reportSuccess(key);
      return chunks;
    } catch (err) {
      const failure = err instanceof RequestError ? err.failure : 'stream-error';
      this.metrics.requests.inc({ protocol, result: failure });
      if (failure === 'too-large') this.penalise(key, 'oversized-message');
      else if (failure === 'invalid-response') this.penalise(key, 'invalid-response');
      else if (
        failure === 'timeout' ||
        failure === 'dial-failed' ||
        failure === 'stream-error' ||
        failure === 'server-error'
      ) {
        peerManager.reportFailure(key);
      }
      throw err;
    } finally {
      this.metrics.requestSeconds.observe((performance.now() - started) / 1000, { protocol });
    }
  }

  /** A response that decoded but does not answer the request: penalise and fail. */
  private invalidResponse(
    protocol: ReqRespProtocol,
    peer: string,
    message: string,
    cause?: unknown,
  ): RequestError {
    this.metrics.requests.inc({ protocol, result: 'invalid-response' });
    this.penalise(peer, 'invalid-response');
    return new RequestError(
      'invalid-response',
      protocolId(this.chainId, protocol, this.wireVersion),
      peer,
      message,
      cause,
    );
  }

  private successPayload(protocol: ReqRespProtocol, peer: string, chunk: ResponseChunk): Uint8Array {
    const id = protocolId(this.chainId, protocol, this.wireVersion);
    switch (chunk.result) {
      case 'SUCCESS':
        return chunk.payload;
      case 'RESOURCE_UNAVAILABLE':
        throw new RequestError('unavailable', id, peer, `${protocol}: ${peer} does not have it`);
      case 'INVALID_REQUEST':
        throw new RequestError(
          'invalid-request',
          id,
          peer,
          `${protocol}: ${peer} says the request is invalid`,
        );
      case 'SERVER_ERROR':
        throw new RequestError('server-error', id, peer, `${protocol}: ${peer} failed to answer`);
      case 'RATE_LIMITED':
        throw new RequestError('rate-limited', id, peer, `${protocol}: ${peer} says we ask too often`);
    }
  }

  /** Asks `peer` for its chain status. */
  async requestStatus(peer: string): Promise<StatusMessage> {
    const chunks = await this.request('status', peerIdFromString(peer), EMPTY, {
      chunkBytesMax: 1 + STATUS_BYTES,
      chunksMax: 1,
      totalBytesMax: 1 + STATUS_BYTES,
    });
    const chunk = chunks[0];
    if (chunk === undefined) throw this.invalidResponse('status', peer, 'status: empty response');
    const payload = this.successPayload('status', peer, chunk);
    try {
      const status = decodeStatus(payload);
      this.statusOfPeer.delete(peer);
      this.statusOfPeer.set(peer, status);
      // remember the most recently asked peers only
      if (this.statusOfPeer.size > 1_024) {
        const oldest = this.statusOfPeer.keys().next();
        if (oldest.done !== true) this.statusOfPeer.delete(oldest.value);
      }
      return status;
    } catch (err) {
      throw this.invalidResponse('status', peer, 'status: does not decode', err);
    }
  }

  /** The last status each peer reported (from requestStatus). */
  knownStatuses(): ReadonlyMap<string, StatusMessage> {
    return this.statusOfPeer;
  }

  private targets(peer: string | undefined, minHeight: number | undefined): PeerId[] {
    const { peerManager } = this.need();
    if (peer !== undefined) return [peerIdFromString(peer)];
    const all = peerManager.requestTargets();
    if (minHeight === undefined) return all;
    // peers known to be behind go last
    const ahead = all.filter((p) => (this.statusOfPeer.get(p.toString())?.height ?? minHeight) >= minHeight);
    const behind = all.filter((p) => (this.statusOfPeer.get(p.toString())?.height ?? minHeight) < minHeight);
    return [...ahead, ...behind];
  }

  /**
   * Fetches a block by hash from a peer (or up to `requestAttempts` peers).
   * A block is returned only when its header hashes to `hash` and its body
   * matches its header (`blockDataProblem`); a peer that answers otherwise is
   * penalised and the next peer is asked. Returns undefined when the peers
   * asked do not have it; throws RequestError when none could be asked or all
   * failed.
   */
  async requestBlockByHash(hash: Uint8Array, options: { peer?: string } = {}): Promise<Block | undefined> {
    if (hash.length !== 32) throw new RangeError('requestBlockByHash: hash must be 32 bytes');
    const targets = this.targets(options.peer, undefined).slice(0, this.options.requestAttempts ?? 3);
    let lastError: unknown = new RequestError(
      'no-peers',
      protocolId(this.chainId, 'block-by-hash', this.wireVersion),
      undefined,
      'no peer to ask',
    );
    let unavailable = false;
    for (const target of targets) {
      const peer = target.toString();
      try {
        const chunks = await this.request('block-by-hash', target, hash, {
          chunkBytesMax: 1 + this.limits.blockBytesMax,
          chunksMax: 1,
          totalBytesMax: 1 + this.limits.blockBytesMax,
        });
        const chunk = chunks[0];
        if (chunk === undefined)
          throw this.invalidResponse('block-by-hash', peer, 'block-by-hash: empty response');
        const payload = this.successPayload('block-by-hash', peer, chunk);
        let block: Block;
        try {
          block = decodeBlock(payload, this.limits.blockBytesMax);
        } catch (err) {
          throw this.invalidResponse('block-by-hash', peer, 'block-by-hash: block does not decode', err);
        }
        if (!bytesEqual(blockHash(block), hash))
          throw this.invalidResponse('block-by-hash', peer, 'block-by-hash: wrong block');
        // the header hashes right, but the body must match the header too: a block whose
        // txs, evidence or last commit differ from its header is never returned for that hash
        const problem = blockDataProblem(block);
        if (problem !== undefined)
          throw this.invalidResponse('block-by-hash', peer, `block-by-hash: ${problem}`);
        return block;
      } catch (err) {
        if (err instanceof RequestError && err.failure === 'unavailable') unavailable = true;
        lastError = err;
      }
    }
    if (unavailable) return undefined;
    throw lastError;
  }

  /**
   * The liveness protocol: asks `peer` what it holds for (height, round) —
   * the proposals (with blocks) and votes of that height, or the decided
   * block with its commit. The reply is read within its bounds
   * (`consensusReplyBounds`: counts and bytes from `CONSENSUS_REPLY_LIMITS`,
   * the size of the height's validator set when known here, and
   * block.maxBytes) and checked to answer the question: every proposal,
   * vote and decided block of the asked height and this chain, each block
   * matching its proposal's or commit's hash and its own header
   * (`blockDataProblem`), at most `roundsMax` rounds. Signatures are NOT
   * verified here: the caller's engine verifies every message it is given.
   * A peer whose reply is oversize, malformed or about something else is
   * penalised and the request fails with RequestError (`too-large`,
   * `invalid-response`); `unavailable` when the peer serves no such
   * protocol, `rate-limited` when it says we ask too often.
   */
  async requestConsensus(peer: string, request: ConsensusRequest): Promise<ConsensusReply> {
    const payload = encodeConsensusRequest(request);
    const { height } = request;
    const bounds = this.consensusBounds(height);
    const chunks = await this.request('consensus', peerIdFromString(peer), payload, {
      chunkBytesMax: 1 + bounds.itemBytesMax,
      chunksMax: bounds.proposalsMax + bounds.votesMax + CONSENSUS_REPLY_LIMITS.decidedMax,
      totalBytesMax:
        bounds.bytesMax + bounds.proposalsMax + bounds.votesMax + CONSENSUS_REPLY_LIMITS.decidedMax,
    });
    const payloads = chunks.map((chunk) => this.successPayload('consensus', peer, chunk));
    let reply: ConsensusReply;
    try {
      reply = decodeConsensusReply(payloads, bounds);
    } catch (err) {
      if (err instanceof DecodeError && err.code === 'DECODE_TOO_LARGE') {
        this.metrics.requests.inc({ protocol: 'consensus', result: 'too-large' });
        this.penalise(peer, 'oversized-message');
        throw new RequestError(
          'too-large',
          protocolId(this.chainId, 'consensus', this.wireVersion),
          peer,
          `consensus: ${err.message}`,
          err,
        );
      }
      throw this.invalidResponse('consensus', peer, 'consensus: reply does not decode', err);
    }
    const problem = this.consensusReplyProblem(height, reply);
    if (problem !== undefined) throw this.invalidResponse('consensus', peer, `consensus: ${problem}`);
    return reply;
  }

  /** Why `reply` does not answer a question about `height` (cheap checks; no signature), if it does not. */
  private consensusReplyProblem(height: number, reply: ConsensusReply): string | undefined {
    const rounds = new Set<number>();
    for (const { signedProposal, block } of reply.proposals) {
      const { proposal } = signedProposal;
      if (proposal.height !== height) return `a proposal of height ${proposal.height}, asked ${height}`;
      if (block.header.height !== height || block.header.chainId !== this.chainId)
        return `a proposal's block is not of height ${height} of ${this.chainId}`;
      if (!bytesEqual(blockHash(block), proposal.blockHash))
        return 'a proposal whose block does not hash to its blockHash';
      const data = blockDataProblem(block);
      if (data !== undefined) return `a proposal's block: ${data}`;
      rounds.add(proposal.round);
    }
    for (const { vote } of reply.votes) {
      if (vote.height !== height) return `a vote of height ${vote.height}, asked ${height}`;
      rounds.add(vote.round);
    }
    if (rounds.size > CONSENSUS_REPLY_LIMITS.roundsMax)
      return `${rounds.size} rounds, more than ${CONSENSUS_REPLY_LIMITS.roundsMax}`;
    const decided = reply.decided;
    if (decided !== undefined) {
      const { block, commit } = decided;
      if (block.header.height !== height || commit.height !== height)
        return `a decided block or commit of height ${block.header.height}/${commit.height}, asked ${height}`;
      if (block.header.chainId !== this.chainId) return `a decided block of another chain`;
      if (!bytesEqual(blockHash(block), commit.blockHash))
        return "a decided block whose hash is not its commit's";
      const data = blockDataProblem(block);
      if (data !== undefined) return `the decided block: ${data}`;
    }
    return undefined;
  }

  /**
   * Fetches consecutive blocks with their commits, from `from` up to `to`
   * (inclusive), from one peer (or up to `requestAttempts` peers). Every block
   * returned is verified: the requested height of this chain, chained by hash
   * to the one before, its body consistent with its header
   * (`blockDataProblem`), and its commit for it and signed by more than 2/3 of
   * `validatorSetAt(height)` (`commitProblem`). A peer whose answer breaks any
   * of these is penalised and the next peer is asked.
   *
   * Only heights whose validator set the caller knows are asked for: the
   * answer stops before the first height for which `validatorSetAt` returns
   * undefined (RangeError when that is `from` itself). It may also stop early
   * at the server's size limits: ask again from the next height, or use
   * `downloadBlocks`.
   *
   * With `{ commitSignatures: 'verified-by-caller' }` instead of
   * `validatorSetAt`, every check but the commit signatures runs, and up to
   * `rangeBlocksMax` heights are asked for: the caller verifies each commit
   * (`commitProblem`) before it applies the block.
   */
  async requestBlockRange(
    from: number,
    to: number,
    options: BlockRangeOptions | CallerVerifiedBlockRangeOptions,
  ): Promise<BlockRangeResponse> {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) {
      throw new RangeError(`requestBlockRange: bad range [${from}, ${to}]`);
    }
    const upTo = Math.min(to, from + this.limits.rangeBlocksMax - 1);
    let sets: ValidatorSet[] | undefined;
    if ('validatorSetAt' in options) {
      sets = await this.knownValidatorSets(from, upTo, options.validatorSetAt);
      if (sets.length === 0)
        throw new RangeError(`requestBlockRange: the validator set of height ${from} is unknown`);
    } else if (options.commitSignatures !== 'verified-by-caller') {
      throw new RangeError('requestBlockRange: give validatorSetAt, or commitSignatures: verified-by-caller');
    }
    const last = sets === undefined ? upTo : from + sets.length - 1;
    const targets = this.targets(options.peer, from).slice(0, this.options.requestAttempts ?? 3);
    let lastError: unknown = new RequestError(
      'no-peers',
      protocolId(this.chainId, 'block-range', this.wireVersion),
      undefined,
      'no peer to ask',
    );
    const chunkBytesMax = 1 + 4 + this.limits.blockBytesMax + this.limits.commitBytesMax;
    for (const target of targets) {
      const peer = target.toString();
      try {
        const chunks = await this.request(
          'block-range',
          target,
          encodeBlockRangeRequest({ from, to: last }),
          {
            chunkBytesMax,
            chunksMax: this.limits.rangeBlocksMax,
            totalBytesMax: this.limits.rangeResponseBytesMax + chunkBytesMax,
          },
        );
        const items = this.checkRange(peer, from, last, chunks, sets);
        return { peer, items };
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  /** The validator sets of `from`, `from + 1`, … up to `to`, stopping before the first unknown one. */
  private async knownValidatorSets(
    from: number,
    to: number,
    validatorSetAt: BlockRangeOptions['validatorSetAt'],
  ): Promise<ValidatorSet[]> {
    const sets: ValidatorSet[] = [];
    for (let h = from; h <= to; h++) {
      const set = await validatorSetAt(h);
      if (set === undefined) break;
      sets.push(set);
    }
    return sets;
  }

  /**
   * Checks a range answer: cheap checks of every item first (decoding, height,
   * chain id, hash links, header against body, commit for its block), then the
   * commit signatures of each height against `sets[height - from]` (unless
   * `sets` is undefined: the caller verifies them).
   */
  private checkRange(
    peer: string,
    from: number,
    to: number,
    chunks: readonly ResponseChunk[],
    sets: readonly ValidatorSet[] | undefined,
  ): BlockWithCommit[] {
    const id = protocolId(this.chainId, 'block-range', this.wireVersion);
    const items: BlockWithCommit[] = [];
    const hashes: Uint8Array[] = [];
    let parent: Uint8Array | undefined;
    for (const chunk of chunks) {
      if (chunk.result !== 'SUCCESS') {
        if (items.length > 0) break;
        this.successPayload('block-range', peer, chunk);
      }
      const height = from + items.length;
      if (height > to) throw this.invalidResponse('block-range', peer, 'block-range: more blocks than asked');
      let item: BlockWithCommit;
      try {
        item = decodeBlockWithCommit(chunk.payload, this.limits.blockBytesMax, this.limits.commitBytesMax);
      } catch (err) {
        throw this.invalidResponse('block-range', peer, 'block-range: item does not decode', err);
      }
      const { block, commit } = item;
      if (block.header.height !== height || block.header.chainId !== this.chainId) {
        throw this.invalidResponse(
          'block-range',
          peer,
          `block-range: expected block ${height} of ${this.chainId}`,
        );
      }
      const hash = blockHash(block);
      if (parent !== undefined && !bytesEqual(block.header.lastBlockHash, parent)) {
        throw this.invalidResponse(
          'block-range',
          peer,
          `block-range: block ${height} does not follow ${height - 1}`,
        );
      }
      if (commit.height !== height || !bytesEqual(commit.blockHash, hash)) {
        throw this.invalidResponse('block-range', peer, `block-range: commit is not for block ${height}`);
      }
      const problem = blockDataProblem(block);
      if (problem !== undefined)
        throw this.invalidResponse('block-range', peer, `block-range: block ${height}: ${problem}`);
      parent = hash;
      items.push(item);
      hashes.push(hash);
    }
    if (items.length === 0)
      throw new RequestError('unavailable', id, peer, `block-range: ${peer} has no block ${from}`);
    if (sets === undefined) return items;
    for (const [i, { commit }] of items.entries()) {
      const height = from + i;
      const set = sets[i];
      // checked above: no more items than heights asked, and a set for every height asked
      if (set === undefined) throw new SynodError('INTERNAL', `block-range: no validator set for ${height}`);
      const problem = commitProblem(this.chainId, set, commit, { height, blockHash: hashes[i] });
      if (problem !== undefined)
        throw this.invalidResponse('block-range', peer, `block-range: commit of block ${height}: ${problem}`);
    }
    return items;
  }

  /**
   * Downloads blocks `from`..`to` in batches (any peers), yielding each batch
   * in order, every block verified as `requestBlockRange` does. The next batch
   * is asked for only when the caller pulls it, so a `validatorSetAt` that
   * learns the sets from the blocks it applies is asked about each height
   * after the blocks before it were yielded.
   */
  async *downloadBlocks(
    from: number,
    to: number,
    options: Pick<BlockRangeOptions, 'validatorSetAt'>,
  ): AsyncGenerator<readonly BlockWithCommit[], void, undefined> {
    let next = from;
    while (next <= to) {
      const { items } = await this.requestBlockRange(next, to, { validatorSetAt: options.validatorSetAt });
      next += items.length;
      yield items;
    }
  }

  private async exchangePeers(peer: PeerId): Promise<Multiaddr[]> {
    const key = peer.toString();
    const chunks = await this.request('pex', peer, EMPTY, {
      chunkBytesMax: 1 + 512,
      chunksMax: this.limits.pexAddressesMax,
      totalBytesMax: this.limits.pexAddressesMax * 513,
    });
    const out: Multiaddr[] = [];
    for (const chunk of chunks) {
      try {
        out.push(multiaddr(this.successPayload('pex', key, chunk)));
      } catch (err) {
        if (err instanceof RequestError) throw err;
        throw this.invalidResponse('pex', key, 'pex: not a multiaddr', err);
      }
    }
    return out;
  }

  // --- peers ---------------------------------------------------------------------

  /** Dials a peer address now (`/ip4/…/tcp/…/p2p/<id>`). */
  async dial(address: string): Promise<void> {
    const { node } = this.need();
    await withDeadline(this.peerOptions.dialTimeoutMs, 'dial', (signal) =>
      node.dial(multiaddr(address), { signal }),
    );
  }

  /** Known and connected peers. */
  peers(): PeerInfo[] {
    return this.running?.peerManager.peers() ?? [];
  }

  /** Peer ids currently connected. */
  connectedPeers(): string[] {
    return this.running?.node.getPeers().map((p) => p.toString()) ?? [];
  }

  /** Peers in our gossipsub mesh for `topic`. */
  meshPeers(topic: GossipTopic): string[] {
    return this.running?.router.getMeshPeers(this.topics.byTopic[topic]) ?? [];
  }

  /** The gossipsub score of a peer (for diagnostics). */
  gossipScore(peer: string): number {
    return this.running?.router.getScore(peer) ?? 0;
  }

  /** A peer's current penalty points. */
  penaltyPoints(peer: string): number {
    return this.reputation.points(peer);
  }

  isBanned(peer: string): boolean {
    return this.reputation.isBanned(peer);
  }

  bannedPeers(): { peer: string; untilMs: number; reason: string }[] {
    return this.reputation.banned();
  }

  isDelinquent(peer: string): boolean {
    return this.running?.peerManager.isDelinquent(peer) ?? false;
  }

  /** Gossip messages waiting for validation, per topic. */
  queueLengths(): Record<GossipTopic, number> {
    return this.running?.scheduler.lengths() ?? zeroPerTopic();
  }

  /** Bytes of gossip messages waiting for validation, per topic (what the byte budgets bound). */
  queueBytes(): Record<GossipTopic, number> {
    return this.running?.scheduler.byteLengths() ?? zeroPerTopic();
  }

  /** Gossip messages from `peer` (as the sender that relayed them) waiting for validation, per topic. */
  queuedFrom(peer: string): Record<GossipTopic, number> {
    return this.running?.scheduler.lengthsOf(peer) ?? zeroPerTopic();
  }

  /** Bans a peer now (operator action): disconnects it and refuses it for `durationMs`. */
  ban(peer: string, reason = 'manual', durationMs?: number): void {
    this.reputation.ban(peer, reason, durationMs);
    this.enforceBan(peer, reason);
  }

  /** Lifts a ban. */
  unban(peer: string): void {
    this.reputation.unban(peer);
  }

  /**
   * Remote IPs whose inbound connections are refused because enough of their
   * peers were banned (IPv6 as a prefix, see `InboundConnectionLimits`).
   */
  bannedIps(): { ip: string; untilMs: number }[] {
    return this.ipGuard.bannedIps();
  }

  /** Lifts an IP's ban (`ip` as `bannedIps` names it). */
  unbanIp(ip: string): void {
    this.ipGuard.unbanIp(ip);
  }

  /** `protocol`: the request/response protocol the misbehaviour came on (named in the ban's log line). */
  private penalise(peer: string, reason: PenaltyReason, protocol?: ReqRespProtocol): void {
    this.metrics.penalties.inc({ reason });
    const { banned, points } = this.reputation.penalise(peer, reason);
    this.logger.debug('peer penalised', {
      peer,
      reason,
      points,
      ...(protocol === undefined ? {} : { protocol }),
    });
    if (banned) this.enforceBan(peer, reason, protocol);
  }

  private enforceBan(peer: string, reason: string, protocol?: ReqRespProtocol): void {
    this.metrics.bans.inc({ reason });
    this.logger.warn('peer banned', {
      event: 'peer_banned',
      peer,
      reason,
      ...(protocol === undefined ? {} : { protocol }),
      durationMs: this.reputation.options.banDurationMs,
    });
    const r = this.running;
    if (r === undefined) return;
    // the ban counts against the IPs it is connected from (enough of them ban the IP)
    const peerId = peerIdFromString(peer);
    for (const connection of r.node.getConnections(peerId)) {
      const ip = this.ipGuard.peerBanned(peer, connection.remoteAddr);
      if (ip === undefined) continue;
      this.metrics.ipBans.inc();
      this.logger.warn('ip banned', {
        event: 'ip_banned',
        ip,
        bannedPeers: this.ipGuard.limits.bannedPeersPerIp,
        durationMs: this.ipGuard.limits.ipBanMs,
      });
    }
    r.peerManager.onBanned(peer);
    // whatever it still has queued is dropped unvalidated: a ban ends the work it causes
    r.scheduler.dropPeer(peer);
    // cut at once: a graceful close waits for the peer to close its streams, and a flooder
    // keeps writing (its frames were read and decrypted for seconds after its ban)
    const cut = new SynodError('P2P_PEER_BANNED', `${peer} banned: ${reason}`);
    for (const connection of r.node.getConnections(peerId)) connection.abort(cut);
  }
}
