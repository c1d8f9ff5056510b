/**
 * @synod/p2p: how Synod nodes find each other and exchange transactions,
 * proposals, votes, evidence and blocks (libp2p: TCP, Noise, yamux, identify,
 * ping, gossipsub). This module is the package's only public surface.
 */

export { wallClock } from './clock.js';
export {
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
export {
  decodeProposalMessage,
  encodeProposalMessage,
  type ProposalMessage,
} from './codec/proposal-message.js';
export {
  BLOCK_RANGE_REQUEST_BYTES,
  type BlockRangeRequest,
  type BlockWithCommit,
  RESULT_CODES,
  type ResultName,
  type StatusMessage,
} from './codec/reqresp-messages.js';
export {
  decodeTxBatch,
  encodeTxBatch,
  TxBatchDecodeError,
  type TxBatchLimits,
  txBatchBytes,
} from './codec/tx-batch.js';
export { type ConsensusNetworkPort, consensusPort } from './consensus-port.js';
export { DEFAULT_MESH_OPTIONS, type MeshOptions, SCORE_THRESHOLDS } from './gossip-config.js';
export {
  DEFAULT_INBOUND_GOSSIP_BUDGET,
  GOSSIP_VIOLATIONS,
  type GossipViolation,
  type InboundGossipBudget,
  inboundGossipBudgetFor,
} from './gossip-guard.js';
export {
  DEFAULT_MESSAGE_LIMITS,
  DEFAULT_REQUEST_TIMEOUTS,
  type MessageLimits,
  proposalBytesMax,
  type RequestTimeouts,
  topicBytesMax,
} from './limits.js';
export {
  type BlockRangeOptions,
  type BlockRangeResponse,
  type CallerVerifiedBlockRangeOptions,
  createNetwork,
  type DeliveredMessages,
  type EncodedBlockWithCommit,
  type GossipHandler,
  Network,
  type NetworkOptions,
  type Received,
  type RequestProvider,
} from './network.js';
export { libp2pPrivateKey, loadNodeIdentity, type NodeKey, peerIdOfNodeKey } from './node-key.js';
export {
  type NodeReceived,
  type NodeSyncProvider,
  type NodeTransportMessages,
  type NodeValidationView,
  nodeTransport,
  P2PNodeTransport,
} from './node-transport.js';
export { isPrivateAddress } from './peers/address-filter.js';
export { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from './peers/backoff.js';
export {
  DEFAULT_INBOUND_CONNECTION_LIMITS,
  INBOUND_REFUSALS,
  type InboundConnectionLimits,
  type InboundRefusal,
} from './peers/ip-guard.js';
export {
  DEFAULT_PEER_MANAGER_OPTIONS,
  type PeerInfo,
  type PeerKind,
  type PeerManagerOptions,
} from './peers/peer-manager.js';
export { DEFAULT_REPUTATION, type PenaltyReason, type ReputationOptions } from './peers/reputation.js';
export type { DropPolicy } from './queue/fair-queue.js';
export {
  DEFAULT_QUEUE_OPTIONS,
  type QueueOptions,
  type TopicQueueOptions,
} from './queue/gossip-scheduler.js';
export {
  DEFAULT_SERVE_RATE_LIMITS,
  type RateLimit,
  type ServeRateLimits,
} from './reqresp/rate-limiter.js';
export { RequestError, type RequestFailure } from './reqresp/transport.js';
export {
  agentVersion,
  GOSSIP_TOPICS,
  type GossipTopic,
  parseAgentVersion,
  protocolId,
  protocolIds,
  REQRESP_PROTOCOLS,
  type ReqRespProtocol,
  topicName,
  WIRE_VERSION,
} from './topics.js';
export { DEFAULT_TX_BATCHING, type TxBatchingOptions } from './tx-batcher.js';
export {
  GOSSIP_ERROR_CODES,
  type GossipAction,
  type GossipErrorCode,
  GossipValidationError,
} from './validation/gossip-error.js';
export {
  DEFAULT_HEIGHT_WINDOW,
  type HeightWindow,
  type TxPrecheckVerdict,
  type ValidatedMessages,
  type ValidatedProposal,
  type ValidatedTx,
  type ValidatedTxBatch,
  type ValidationContext,
  validateGossipMessage,
  validateTxBatch,
} from './validation/validate.js';
