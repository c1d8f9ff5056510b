/**
 * `@synod/p2p/validation`: gossip validation and the proposal wire envelope
 * without libp2p. The same `validateGossipMessage` the libp2p network runs
 * on every message, and the mesh degree it relays with, for hosts that carry
 * gossip some other way (the deterministic simulator). Nothing reachable from this module imports
 * libp2p, @libp2p/* or @chainsafe/* (test/unit/validation-entry.test.ts
 * checks the import graph).
 */

export {
  decodeProposalMessage,
  encodeProposalMessage,
  type ProposalEnvelope,
  type ProposalMessage,
  readProposalEnvelope,
  SIGNED_PROPOSAL_BYTES_MAX,
} from './codec/proposal-message.js';
export {
  decodeTxBatch,
  encodeTxBatch,
  TX_BATCH_HEADER_BYTES,
  TX_BATCH_ITEM_OVERHEAD_BYTES,
  TxBatchDecodeError,
  type TxBatchLimits,
  type TxBatchProblem,
  txBatchBytes,
} from './codec/tx-batch.js';
export { DEFAULT_MESSAGE_LIMITS, type MessageLimits, proposalBytesMax, topicBytesMax } from './limits.js';
export { DEFAULT_MESH_OPTIONS, type MeshOptions } from './mesh-options.js';
export { GOSSIP_TOPICS, type GossipTopic } from './topics.js';
export {
  GOSSIP_ERROR_CODES,
  type GossipAction,
  type GossipErrorCode,
  GossipValidationError,
} from './validation/gossip-error.js';
export { type ProposalSighting, ProposalTracker } from './validation/proposal-tracker.js';
export {
  DEFAULT_HEIGHT_WINDOW,
  type HeightWindow,
  screenGossipMessage,
  type TxPrecheckVerdict,
  type ValidatedMessages,
  type ValidatedProposal,
  type ValidatedTx,
  type ValidatedTxBatch,
  type ValidationContext,
  type ValidationParams,
  validateGossipMessage,
  validateTx,
  validateTxBatch,
  type WindowProblem,
} from './validation/validate.js';
