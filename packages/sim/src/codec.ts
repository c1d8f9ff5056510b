import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  type Commit,
  decodeBlock,
  decodeCommit,
  decodeEvidence,
  decodeSignedProposal,
  decodeSignedVote,
  type Evidence,
  encodeBlock,
  encodeCommit,
  encodeEvidence,
  encodeSignedProposal,
  encodeSignedVote,
  type SignedProposal,
  type SignedVote,
} from '@synod/types';

/**
 * The simulated wire. Every message travels as bytes and is decoded and
 * checked on arrival, as a node's gossip validation does, so that a
 * Byzantine node's garbage meets the same code path as real traffic:
 *
 *     0x01 proposal   u32 length ‖ SSZ(SignedProposal) ‖ SSZ(Block)   (@synod/p2p's proposal message)
 *     0x02 vote       SSZ(SignedVote)
 *     0x03 block      SSZ(Block)                    (an answer to a block request, or catch-up)
 *     0x04 get-block  32-byte block hash
 *     0x05 status     u32 height ‖ u8 stuck         (the height the sender decides, and for how many
 *                                                    gossip ticks it has not moved: asks for catch-up)
 *     0x06 commit     u32 length ‖ SSZ(Block) ‖ SSZ(Commit)   (block sync: a decided block and its commit)
 *     0x07 evidence   SSZ(Evidence)                 (evidence gossip: the pool verifies it, not the wire)
 */
export type WireMessage =
  | { readonly kind: 'proposal'; readonly proposal: SignedProposal; readonly block: Block }
  | { readonly kind: 'vote'; readonly vote: SignedVote }
  | { readonly kind: 'block'; readonly block: Block }
  | { readonly kind: 'get-block'; readonly hash: Uint8Array }
  | { readonly kind: 'status'; readonly height: number; readonly stuck: number }
  | { readonly kind: 'commit'; readonly block: Block; readonly commit: Commit }
  | { readonly kind: 'evidence'; readonly evidence: Evidence };

export const WIRE_TAG = {
  proposal: 1,
  vote: 2,
  block: 3,
  'get-block': 4,
  status: 5,
  commit: 6,
  evidence: 7,
} as const;

/** Largest message accepted (blocks here are small; a real node uses its block size limit). */
export const WIRE_BYTES_MAX = 1 << 20;
const SIGNED_PROPOSAL_BYTES_MAX = 512;
/** One evidence item is two signed votes or proposals and three numbers (well under 1 KiB). */
export const EVIDENCE_BYTES_MAX = 2048;

function tagged(tag: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

/** `tag ‖ u32 length(first) ‖ first ‖ second`: a message of two parts. */
function taggedPair(tag: number, first: Uint8Array, second: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + first.length + second.length);
  out[0] = tag;
  new DataView(out.buffer).setUint32(1, first.length);
  out.set(first, 5);
  out.set(second, 5 + first.length);
  return out;
}

export function encodeWire(m: WireMessage): Uint8Array {
  switch (m.kind) {
    case 'proposal':
      return taggedPair(WIRE_TAG.proposal, encodeSignedProposal(m.proposal), encodeBlock(m.block));
    case 'vote':
      return tagged(WIRE_TAG.vote, encodeSignedVote(m.vote));
    case 'block':
      return tagged(WIRE_TAG.block, encodeBlock(m.block));
    case 'get-block':
      return tagged(WIRE_TAG['get-block'], m.hash);
    case 'status': {
      const out = new Uint8Array(6);
      out[0] = WIRE_TAG.status;
      new DataView(out.buffer).setUint32(1, m.height);
      out[5] = Math.min(255, Math.max(0, m.stuck));
      return out;
    }
    case 'commit':
      return taggedPair(WIRE_TAG.commit, encodeBlock(m.block), encodeCommit(m.commit));
    case 'evidence':
      return tagged(WIRE_TAG.evidence, encodeEvidence(m.evidence));
  }
}

/** Why a message was rejected on arrival. */
export class WireError extends Error {
  override readonly name = 'WireError';
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
 * Decodes and checks a message the way a node's gossip validation does
 * before consensus sees it (signatures are the engine's to check). Throws on
 * anything malformed; the caller drops the message.
 */
export function decodeWire(bytes: Uint8Array, chainId: string): WireMessage {
  if (bytes.length < 1 || bytes.length > WIRE_BYTES_MAX) throw new WireError('bad length');
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case WIRE_TAG.proposal: {
      if (body.length < 4) throw new WireError('short proposal');
      const len = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
      if (len > SIGNED_PROPOSAL_BYTES_MAX || 4 + len > body.length)
        throw new WireError('bad proposal length');
      const proposal = decodeSignedProposal(body.subarray(4, 4 + len));
      const block = checkedBlock(body.subarray(4 + len), chainId);
      // [REJECT] the block is not the proposal's
      if (block.header.height !== proposal.proposal.height) throw new WireError('block height mismatch');
      if (!bytesEqual(blockHash(block), proposal.proposal.blockHash))
        throw new WireError('block hash mismatch');
      return { kind: 'proposal', proposal, block };
    }
    case WIRE_TAG.vote:
      return { kind: 'vote', vote: decodeSignedVote(body) };
    case WIRE_TAG.block:
      return { kind: 'block', block: checkedBlock(body, chainId) };
    case WIRE_TAG['get-block']:
      if (body.length !== 32) throw new WireError('bad block request');
      return { kind: 'get-block', hash: body.slice() };
    case WIRE_TAG.status:
      if (body.length !== 5) throw new WireError('bad status');
      return {
        kind: 'status',
        height: new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0),
        stuck: body[4] as number,
      };
    case WIRE_TAG.commit: {
      if (body.length < 4) throw new WireError('short commit');
      const len = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
      if (4 + len > body.length) throw new WireError('bad block length');
      const block = checkedBlock(body.subarray(4, 4 + len), chainId);
      const commit = decodeCommit(body.subarray(4 + len));
      // [REJECT] the commit is not for this block
      if (commit.height !== block.header.height || !bytesEqual(commit.blockHash, blockHash(block)))
        throw new WireError('commit does not match the block');
      return { kind: 'commit', block, commit };
    }
    case WIRE_TAG.evidence:
      // [REJECT] oversized or undecodable; whether it proves anything is the evidence pool's to check.
      if (body.length > EVIDENCE_BYTES_MAX) throw new WireError('evidence too large');
      return { kind: 'evidence', evidence: decodeEvidence(body) };
    default:
      throw new WireError(`unknown tag ${bytes[0]}`);
  }
}
