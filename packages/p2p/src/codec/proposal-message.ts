import {
  type Block,
  DecodeError,
  decodeBlock,
  decodeSignedProposal,
  encodeBlock,
  encodeSignedProposal,
  type SignedProposal,
} from '@synod/types';

/**
 * A proposal on the wire carries the signed proposal and the block it proposes:
 *
 *     u32 big-endian length of SignedProposal ‖ SSZ(SignedProposal) ‖ SSZ(Block)
 *
 * The signed proposal comes first, with its length, so a receiver reads it
 * (and checks it) without decoding the block (`readProposalEnvelope`).
 */
export interface ProposalMessage {
  readonly signedProposal: SignedProposal;
  readonly block: Block;
}

/** A SignedProposal is ~190 bytes; anything longer in the prefix is garbage. */
export const SIGNED_PROPOSAL_BYTES_MAX = 512;

export function encodeProposalMessage(msg: ProposalMessage): Uint8Array {
  return encodeProposalParts(encodeSignedProposal(msg.signedProposal), encodeBlock(msg.block));
}

export function encodeProposalParts(signedProposal: Uint8Array, block: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + signedProposal.length + block.length);
  new DataView(out.buffer).setUint32(0, signedProposal.length, false);
  out.set(signedProposal, 4);
  out.set(block, 4 + signedProposal.length);
  return out;
}

/** The signed proposal of a proposal message, decoded, and its block's bytes, not decoded. */
export interface ProposalEnvelope {
  readonly signedProposal: SignedProposal;
  readonly blockBytes: Uint8Array;
}

/**
 * Reads the signed proposal (~190 bytes) at the head of a proposal message
 * without touching the block, so validation can check height, round, proposer
 * and signature before paying for the block's decoding and hashing. Throws
 * DecodeError.
 */
export function readProposalEnvelope(bytes: Uint8Array): ProposalEnvelope {
  if (bytes.length < 4)
    throw new DecodeError('DECODE_INVALID_BYTES', 'proposal message: shorter than its header');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  if (len > SIGNED_PROPOSAL_BYTES_MAX || 4 + len > bytes.length) {
    throw new DecodeError('DECODE_INVALID_BYTES', `proposal message: bad signed proposal length ${len}`);
  }
  const signedProposal = decodeSignedProposal(bytes.subarray(4, 4 + len));
  return { signedProposal, blockBytes: bytes.subarray(4 + len) };
}

/** Decodes a proposal message; the block must fit in `blockBytesMax`. Throws DecodeError. */
export function decodeProposalMessage(bytes: Uint8Array, blockBytesMax: number): ProposalMessage {
  const { signedProposal, blockBytes } = readProposalEnvelope(bytes);
  return { signedProposal, block: decodeBlock(blockBytes, blockBytesMax) };
}
