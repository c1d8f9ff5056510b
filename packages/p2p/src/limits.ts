import {
  DEFAULT_CONSENSUS_PARAMS,
  EVIDENCE_BYTES_MAX,
  SIGNED_TX_BYTES_MAX,
  SIGNED_VOTE_BYTES,
} from '@synod/types';
import type { GossipTopic } from './topics.js';

/** Size bounds of every message on the wire, in bytes (and counts where stated). */
export interface MessageLimits {
  /** Gossiped SignedVote (a fixed-size encoding). @default SIGNED_VOTE_BYTES of @synod/types (129) */
  readonly voteBytesMax: number;
  /** Encoded block, in proposals and responses. @default consensus params' block.maxBytes (4 MiB) */
  readonly blockBytesMax: number;
  /** Gossiped evidence item. @default EVIDENCE_BYTES_MAX of @synod/types (the largest encoding, 305) */
  readonly evidenceBytesMax: number;
  /** One transaction (of a gossiped batch). @default SIGNED_TX_BYTES_MAX of @synod/types (the largest encoding, 483) */
  readonly txBytesMax: number;
  /**
   * Most transactions in one gossiped batch (`txs` topic, see codec/tx-batch.ts):
   * bounds the signatures one message costs. @default 256
   */
  readonly txBatchTxsMax: number;
  /** Largest gossiped transaction batch, framing included. @default 64 KiB */
  readonly txBatchBytesMax: number;
  /** Encoded commit in a block-range response (65 bytes per validator). @default 1 MiB */
  readonly commitBytesMax: number;
  /** Most blocks a block-range response carries (the server stops there). @default 100 */
  readonly rangeBlocksMax: number;
  /** Most bytes of one block-range response (the server stops before). @default 32 MiB */
  readonly rangeResponseBytesMax: number;
  /** Most addresses a peer-exchange response carries. @default 32 */
  readonly pexAddressesMax: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = Object.freeze({
  voteBytesMax: SIGNED_VOTE_BYTES,
  blockBytesMax: DEFAULT_CONSENSUS_PARAMS.block.maxBytes,
  evidenceBytesMax: EVIDENCE_BYTES_MAX,
  txBytesMax: SIGNED_TX_BYTES_MAX,
  txBatchTxsMax: 256,
  txBatchBytesMax: 64 * 1024,
  commitBytesMax: 1024 * 1024,
  rangeBlocksMax: 100,
  rangeResponseBytesMax: 32 * 1024 * 1024,
  pexAddressesMax: 32,
});

/** Room for the proposal envelope's header and SignedProposal around the block. */
export const PROPOSAL_ENVELOPE_OVERHEAD_BYTES = 4 + 512;

/** Largest gossiped proposal message under `limits`. */
export function proposalBytesMax(limits: MessageLimits): number {
  return limits.blockBytesMax + PROPOSAL_ENVELOPE_OVERHEAD_BYTES;
}

/** The largest message of `topic` under `limits`: bigger ones are rejected before they are queued. */
export function topicBytesMax(topic: GossipTopic, limits: MessageLimits): number {
  switch (topic) {
    case 'proposals':
      return proposalBytesMax(limits);
    case 'votes':
      return limits.voteBytesMax;
    case 'evidence':
      return limits.evidenceBytesMax;
    case 'txs':
      return limits.txBatchBytesMax;
  }
}

/** Largest payload gossipsub must be willing to decode (the biggest topic bound plus RPC framing). */
export function gossipDataBytesMax(limits: MessageLimits): number {
  return (
    Math.max(proposalBytesMax(limits), limits.txBatchBytesMax, limits.evidenceBytesMax, limits.voteBytesMax) +
    64 * 1024
  );
}

/** How long each request may take, end to end (dial, request, whole response). */
export interface RequestTimeouts {
  /** @default 5000 */
  readonly statusMs: number;
  /** @default 10000 */
  readonly blockByHashMs: number;
  /** @default 30000 */
  readonly blockRangeMs: number;
  /** @default 5000 */
  readonly pexMs: number;
  /** The liveness protocol (`consensus`): a reply may carry a few blocks. @default 10000 */
  readonly consensusMs: number;
  /** How long a server waits for the request bytes after the stream opens. @default 5000 */
  readonly requestReadMs: number;
}

export const DEFAULT_REQUEST_TIMEOUTS: RequestTimeouts = Object.freeze({
  statusMs: 5_000,
  blockByHashMs: 10_000,
  blockRangeMs: 30_000,
  pexMs: 5_000,
  consensusMs: 10_000,
  requestReadMs: 5_000,
});
