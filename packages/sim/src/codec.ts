import type { NodeMessages, NodeTopic } from '@synod/node';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  decodeBlock,
  decodeEvidence,
  decodeSignedProposal,
  decodeSignedVote,
  decodeTx,
  EVIDENCE_BYTES_MAX,
  encodeBlock,
  encodeEvidence,
  encodeSignedProposal,
  encodeSignedVote,
  SIGNED_TX_BYTES_MAX,
  SIGNED_VOTE_BYTES,
} from '@synod/types';

/**
 * The simulated wire: the bytes of a gossip message of each topic of
 * @synod/node's transport port. Every message travels as bytes and is
 * decoded and checked on arrival (`decodeGossip`, then the transport's
 * signature checks), so a Byzantine node's garbage meets the same code path
 * as real traffic:
 *
 *     proposals  u32 length ‖ SSZ(SignedProposal) ‖ SSZ(Block)
 *     votes      SSZ(SignedVote)
 *     evidence   SSZ(Evidence)
 *     txs        the transaction's bytes (SSZ(SignedTx))
 *
 * The request/response protocols (status, block-by-hash, block-range,
 * consensus) carry their objects through the simulated network as they are
 * (with delay, loss and timeouts): nothing Byzantine writes bytes there.
 *
 * This is not @synod/p2p's wire (its proposal envelope and validation live
 * in a package whose entry point loads libp2p): same contents, checks
 * limited to what a relay needs (see `SimTransport`).
 */
export const GOSSIP_TOPICS: readonly NodeTopic[] = ['proposals', 'votes', 'evidence', 'txs'];

/** Largest message accepted (blocks here are small; a real node uses its block size limit). */
export const WIRE_BYTES_MAX = 1 << 20;
const SIGNED_PROPOSAL_BYTES_MAX = 512;

/** Why a message was rejected on arrival. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** `u32 length(first) ‖ first ‖ second`. */
function pair(first: Uint8Array, second: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + first.length + second.length);
  new DataView(out.buffer).setUint32(0, first.length);
  out.set(first, 4);
  out.set(second, 4 + first.length);
  return out;
}

export function encodeGossip<T extends NodeTopic>(topic: T, message: NodeMessages[T]): Uint8Array {
  switch (topic) {
    case 'proposals': {
      const m = message as NodeMessages['proposals'];
      return pair(encodeSignedProposal(m.signedProposal), encodeBlock(m.block));
    }
    case 'votes':
      return encodeSignedVote(message as NodeMessages['votes']);
    case 'evidence':
      return encodeEvidence(message as NodeMessages['evidence']);
    default:
      return message as NodeMessages['txs'];
  }
}

function checkedBlock(bytes: Uint8Array, chainId: string): Block {
  const block = decodeBlock(bytes, WIRE_BYTES_MAX);
  // [REJECT] a block of another chain, or whose header does not commit to its contents
  if (block.header.chainId !== chainId) throw new WireError('block of another chain');
  const problem = blockDataProblem(block);
  if (problem !== undefined) throw new WireError(problem);
  return block;
}

/**
 * Decodes a message of `topic` and checks what needs no chain state: sizes,
 * the chain id, that a proposal's block is the proposal's. Throws a
 * `WireError` (or the decoder's error) on anything malformed.
 */
export function decodeGossip<T extends NodeTopic>(
  topic: T,
  bytes: Uint8Array,
  chainId: string,
): NodeMessages[T];
export function decodeGossip(topic: NodeTopic, bytes: Uint8Array, chainId: string): NodeMessages[NodeTopic] {
  if (bytes.length < 1 || bytes.length > WIRE_BYTES_MAX) throw new WireError('bad length');
  switch (topic) {
    case 'proposals': {
      if (bytes.length < 4) throw new WireError('short proposal');
      const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
      if (len > SIGNED_PROPOSAL_BYTES_MAX || 4 + len > bytes.length)
        throw new WireError('bad proposal length');
      const signedProposal = decodeSignedProposal(bytes.subarray(4, 4 + len));
      const block = checkedBlock(bytes.subarray(4 + len), chainId);
      // [REJECT] the block is not the proposal's
      if (block.header.height !== signedProposal.proposal.height)
        throw new WireError('block height mismatch');
      if (!bytesEqual(blockHash(block), signedProposal.proposal.blockHash))
        throw new WireError('block hash mismatch');
      return { signedProposal, block };
    }
    case 'votes':
      if (bytes.length !== SIGNED_VOTE_BYTES) throw new WireError('not a vote');
      return decodeSignedVote(bytes);
    case 'evidence':
      // [REJECT] oversized or undecodable; whether it proves anything is checked later.
      if (bytes.length > EVIDENCE_BYTES_MAX) throw new WireError('evidence too large');
      return decodeEvidence(bytes);
    case 'txs': {
      if (bytes.length > SIGNED_TX_BYTES_MAX) throw new WireError('transaction too large');
      const tx = decodeTx(bytes);
      // [REJECT] a transaction of another chain
      if (tx.body.chainId !== chainId) throw new WireError('transaction of another chain');
      return bytes;
    }
  }
}
