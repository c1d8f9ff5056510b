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

/** Decodes a proposal message; the block must fit in `blockBytesMax`. Throws DecodeError. */
export function decodeProposalMessage(bytes: Uint8Array, blockBytesMax: number): ProposalMessage {
  if (bytes.length < 4)
    throw new DecodeError('DECODE_INVALID_BYTES', 'proposal message: shorter than its header');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  if (len > SIGNED_PROPOSAL_BYTES_MAX || 4 + len > bytes.length) {
    throw new DecodeError('DECODE_INVALID_BYTES', `proposal message: bad signed proposal length ${len}`);
  }
  const signedProposal = decodeSignedProposal(bytes.subarray(4, 4 + len));
  const block = decodeBlock(bytes.subarray(4 + len), blockBytesMax);
  return { signedProposal, block };
}
