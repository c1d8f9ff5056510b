/**
 * The `consensus` request/response protocol (liveness): "what do you hold for
 * this height and round?" Gossip delivers a message once (gossipsub's seen
 * cache swallows a copy), so a node whose height stalled after losses, a
 * partition or a restart pulls what it missed from a peer with this request.
 *
 *     request:  height u64 ‖ round u32                                  (12 bytes)
 *     response: n chunks, each  kind u8 ‖ item
 *               kind 0  proposal  u32 len ‖ SSZ(SignedProposal) ‖ SSZ(Block)   (the gossip encoding)
 *               kind 1  vote      SSZ(SignedVote)                              (129 bytes)
 *               kind 2  decided   u32 len ‖ SSZ(Block) ‖ SSZ(Commit)           (the block-range item)
 *
 * An empty reply is zero chunks. The server writes one item at a time (the
 * next is encoded after the previous was written), so a reply is never
 * held whole on its side. The counts and bytes of a reply are capped
 * (`consensusReplyBounds`): an attacker cannot make a requester read more.
 * Integers are big-endian.
 */
import {
  DecodeError,
  decodeSignedVote,
  encodeBlock,
  encodeCommit,
  encodeSignedProposal,
  encodeSignedVote,
  LIMITS,
  SIGNED_VOTE_BYTES,
  type SignedVote,
} from '@synod/types';
import { type MessageLimits, proposalBytesMax } from '../limits.js';
import {
  decodeProposalMessage,
  encodeProposalMessage,
  encodeProposalParts,
  type ProposalMessage,
} from './proposal-message.js';
import {
  type BlockWithCommit,
  decodeBlockWithCommit,
  encodeBlockWithCommit,
  encodeBlockWithCommitParts,
} from './reqresp-messages.js';

/** The question: what the peer holds for (height, round). */
export interface ConsensusRequest {
  readonly height: number;
  readonly round: number;
}

/**
 * The answer: signed proposals (with their blocks) and votes of the height,
 * or, when the peer decided it, the block and its commit. Nothing in it is
 * verified by the transport beyond its encoding, its bounds and its height:
 * the requester's engine checks every signature.
 */
export interface ConsensusReply {
  readonly proposals: readonly ProposalMessage[];
  readonly votes: readonly SignedVote[];
  readonly decided?: BlockWithCommit;
}

/**
 * What one reply may hold: the rounds that matter to a node stuck at a round
 * (the asked round, the peer's current and previous round, its lock and
 * valid rounds: at most five), one proposal per round, and per round two
 * vote types of each validator.
 */
export const CONSENSUS_REPLY_LIMITS = Object.freeze({
  /** Distinct rounds a reply covers. */
  roundsMax: 5,
  /** Proposals in a reply: one per round. */
  proposalsMax: 5,
  /** Votes per validator in a reply: rounds × (prevote, precommit). */
  votesPerValidatorMax: 10,
  /** Decided blocks in a reply (with their commit). */
  decidedMax: 1,
});

/** The bounds a reply is decoded (and served) within, for one height. */
export interface ConsensusReplyBounds {
  readonly proposalsMax: number;
  readonly votesMax: number;
  /** Largest proposal item (`proposalBytesMax(limits)`: block.maxBytes plus the envelope). */
  readonly proposalBytesMax: number;
  readonly blockBytesMax: number;
  readonly commitBytesMax: number;
  /** Largest chunk payload (kind byte included). */
  readonly itemBytesMax: number;
  /** Most payload bytes over the whole reply (kind bytes included). */
  readonly bytesMax: number;
}

/** Kind byte of each reply item. */
export const CONSENSUS_ITEM_KINDS = { proposal: 0, vote: 1, decided: 2 } as const;

/**
 * The bounds of a reply about a height whose validator set has `validators`
 * members (`LIMITS.validatorsMax` when the asker does not know it), under
 * `limits` (whose `blockBytesMax` follows the chain's block.maxBytes).
 */
export function consensusReplyBounds(limits: MessageLimits, validators: number): ConsensusReplyBounds {
  if (!Number.isSafeInteger(validators) || validators < 1 || validators > LIMITS.validatorsMax)
    throw new RangeError(`consensus reply: ${validators} validators outside [1, ${LIMITS.validatorsMax}]`);
  const L = CONSENSUS_REPLY_LIMITS;
  const proposalMax = proposalBytesMax(limits);
  const decidedMax = 4 + limits.blockBytesMax + limits.commitBytesMax;
  const votesMax = L.votesPerValidatorMax * validators;
  return {
    proposalsMax: L.proposalsMax,
    votesMax,
    proposalBytesMax: proposalMax,
    blockBytesMax: limits.blockBytesMax,
    commitBytesMax: limits.commitBytesMax,
    itemBytesMax: 1 + Math.max(proposalMax, decidedMax, SIGNED_VOTE_BYTES),
    bytesMax:
      L.proposalsMax * (1 + proposalMax) +
      votesMax * (1 + SIGNED_VOTE_BYTES) +
      L.decidedMax * (1 + decidedMax),
  };
}

export const CONSENSUS_REQUEST_BYTES = 12;

export function encodeConsensusRequest(r: ConsensusRequest): Uint8Array {
  if (!Number.isSafeInteger(r.height) || r.height < 1)
    throw new RangeError('consensus request: height must be a safe integer ≥ 1');
  if (!Number.isSafeInteger(r.round) || r.round < 0 || r.round > LIMITS.roundMax)
    throw new RangeError(`consensus request: round must be an integer in [0, ${LIMITS.roundMax}]`);
  const out = new Uint8Array(CONSENSUS_REQUEST_BYTES);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(r.height), false);
  dv.setUint32(8, r.round, false);
  return out;
}

export function decodeConsensusRequest(bytes: Uint8Array): ConsensusRequest {
  if (bytes.length !== CONSENSUS_REQUEST_BYTES)
    throw new DecodeError('DECODE_INVALID_BYTES', `consensus request: ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = dv.getBigUint64(0, false);
  const round = dv.getUint32(8, false);
  if (h < 1n || h > BigInt(Number.MAX_SAFE_INTEGER))
    throw new DecodeError('DECODE_INVALID_VALUE', `consensus request: height ${h}`);
  if (round > LIMITS.roundMax)
    throw new DecodeError('DECODE_INVALID_VALUE', `consensus request: round ${round}`);
  return { height: Number(h), round };
}

function withKind(kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

/** The chunk payloads of `reply`, one item each: proposals, votes, then the decided block (no bounds: see `servableConsensusItems`). */
export function* consensusReplyItems(reply: ConsensusReply): Generator<Uint8Array, void, undefined> {
  for (const p of reply.proposals) yield withKind(CONSENSUS_ITEM_KINDS.proposal, encodeProposalMessage(p));
  for (const v of reply.votes) yield withKind(CONSENSUS_ITEM_KINDS.vote, encodeSignedVote(v));
  if (reply.decided !== undefined)
    yield withKind(CONSENSUS_ITEM_KINDS.decided, encodeBlockWithCommit(reply.decided));
}

/**
 * What a server sends of `reply` to a request about `height`, one chunk
 * payload at a time (each encoded when the previous one was taken): only
 * items of that height, within `bounds`, so a correct requester never
 * refuses the answer. At most `CONSENSUS_REPLY_LIMITS.roundsMax` distinct
 * rounds (the proposals and votes of the first rounds met are kept), at most
 * `proposalsMax` proposals and `votesMax` votes; a proposal whose block, or a
 * decided block or commit, is above the bounds is left out.
 */
export function* servableConsensusItems(
  height: number,
  reply: ConsensusReply,
  bounds: ConsensusReplyBounds,
): Generator<Uint8Array, void, undefined> {
  const rounds = new Set<number>();
  const roundFits = (round: number): boolean => {
    if (rounds.has(round)) return true;
    if (rounds.size >= CONSENSUS_REPLY_LIMITS.roundsMax) return false;
    rounds.add(round);
    return true;
  };
  let proposals = 0;
  for (const p of reply.proposals) {
    if (proposals >= bounds.proposalsMax) break;
    const { proposal } = p.signedProposal;
    if (proposal.height !== height || p.block.header.height !== height || !roundFits(proposal.round))
      continue;
    const block = encodeBlock(p.block);
    if (block.length > bounds.blockBytesMax) continue;
    const body = encodeProposalParts(encodeSignedProposal(p.signedProposal), block);
    if (body.length > bounds.proposalBytesMax) continue;
    proposals++;
    yield withKind(CONSENSUS_ITEM_KINDS.proposal, body);
  }
  let votes = 0;
  for (const v of reply.votes) {
    if (votes >= bounds.votesMax) break;
    if (v.vote.height !== height || !roundFits(v.vote.round)) continue;
    votes++;
    yield withKind(CONSENSUS_ITEM_KINDS.vote, encodeSignedVote(v));
  }
  const decided = reply.decided;
  if (decided !== undefined && decided.block.header.height === height && decided.commit.height === height) {
    const block = encodeBlock(decided.block);
    const commit = encodeCommit(decided.commit);
    if (block.length <= bounds.blockBytesMax && commit.length <= bounds.commitBytesMax)
      yield withKind(CONSENSUS_ITEM_KINDS.decided, encodeBlockWithCommitParts(block, commit));
  }
}

/**
 * Decodes the chunk payloads of a reply within `bounds`. Throws DecodeError:
 * DECODE_TOO_LARGE when a count or a size exceeds its bound (checked before
 * the item is decoded), DECODE_INVALID_BYTES when an item is malformed.
 */
export function decodeConsensusReply(
  payloads: readonly Uint8Array[],
  bounds: ConsensusReplyBounds,
): ConsensusReply {
  const proposals: ProposalMessage[] = [];
  const votes: SignedVote[] = [];
  let decided: BlockWithCommit | undefined;
  let total = 0;
  for (const payload of payloads) {
    total += payload.length;
    if (payload.length > bounds.itemBytesMax || total > bounds.bytesMax)
      throw new DecodeError('DECODE_TOO_LARGE', `consensus reply: more than ${bounds.bytesMax} bytes`);
    const kind = payload[0];
    const body = payload.subarray(1);
    switch (kind) {
      case CONSENSUS_ITEM_KINDS.proposal:
        if (proposals.length >= bounds.proposalsMax)
          throw new DecodeError(
            'DECODE_TOO_LARGE',
            `consensus reply: more than ${bounds.proposalsMax} proposals`,
          );
        if (body.length > bounds.proposalBytesMax)
          throw new DecodeError('DECODE_TOO_LARGE', `consensus reply: proposal of ${body.length} bytes`);
        proposals.push(decodeProposalMessage(body, bounds.blockBytesMax));
        break;
      case CONSENSUS_ITEM_KINDS.vote:
        if (votes.length >= bounds.votesMax)
          throw new DecodeError('DECODE_TOO_LARGE', `consensus reply: more than ${bounds.votesMax} votes`);
        if (body.length !== SIGNED_VOTE_BYTES)
          throw new DecodeError('DECODE_INVALID_BYTES', `consensus reply: vote of ${body.length} bytes`);
        votes.push(decodeSignedVote(body));
        break;
      case CONSENSUS_ITEM_KINDS.decided:
        if (decided !== undefined)
          throw new DecodeError('DECODE_TOO_LARGE', 'consensus reply: more than one decided block');
        decided = decodeBlockWithCommit(body, bounds.blockBytesMax, bounds.commitBytesMax);
        break;
      default:
        throw new DecodeError('DECODE_INVALID_BYTES', `consensus reply: unknown item kind ${String(kind)}`);
    }
  }
  return decided === undefined ? { proposals, votes } : { proposals, votes, decided };
}
