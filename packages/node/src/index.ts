/**
 * @synod/node — the node as a library: `createNode(components, init)` composes
 * the consensus engine, the block executor, the chain state, the handshake,
 * block sync, gossip and the commit monitor over its ports. This file is the
 * package's only public surface.
 */

export {
  BlockExecutor,
  type BlockExecutorPorts,
  type BlockProblem,
  type BlockProblemCode,
  executeBlock,
} from './block-executor.js';
export { type ChainSnapshot, ChainState } from './chain-state.js';
export {
  NODE_DEFAULTS,
  type NodeComponents,
  type NodeInit,
  type VerifySignature,
  type VerifySignatures,
} from './config.js';
export type {
  BlockDecidedEvent,
  EvidenceEvent,
  NodeEventName,
  NodeEvents,
  SyncProgressEvent,
} from './events.js';
export { type HandshakeResult, handshake, initChainRequestFromGenesis } from './handshake.js';
export { MemoryNetwork, type MemoryNetworkOptions, MemoryTransport } from './memory-transport.js';
export { createNode, type NodeStatus, SynodNode } from './node.js';
export {
  type BlockWithCommit,
  type ChainStatus,
  type ConsensusReply,
  type ConsensusRequest,
  type GossipValidationView,
  NODE_TOPICS,
  type NodeMessages,
  type NodeTopic,
  type NodeTransport,
  type ProposalMessage,
  type Received,
  type SyncProvider,
} from './transport.js';
