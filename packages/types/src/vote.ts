import { checkDecodedUint, checkLength, checkUint, invalid, isZero, sszDecode, ZERO_HASH } from './codec.js';
import { LIMITS } from './limits.js';
import { SignedVoteSsz, VoteSsz } from './schema.js';

export type VoteType = 'prevote' | 'precommit';

/** A prevote or precommit. `blockHash: null` is a nil vote. */
export interface Vote {
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  readonly blockHash: Uint8Array | null;
  /** 20-byte address of the voting validator. */
  readonly validatorAddress: Uint8Array;
}

export interface SignedVote {
  readonly vote: Vote;
  /** Ed25519 signature over `voteSignBytes(chainId, vote)`. */
  readonly signature: Uint8Array;
}

const VOTE_TYPE_CODE: Readonly<Record<VoteType, number>> = { prevote: 1, precommit: 2 };

export function voteTypeCode(type: VoteType): number {
  return VOTE_TYPE_CODE[type];
}

type VoteValue = ReturnType<typeof VoteSsz.defaultValue>;

export function voteToSsz(v: Vote): VoteValue {
  if (v.type !== 'prevote' && v.type !== 'precommit') invalidVote(`unknown vote type ${String(v.type)}`);
  checkUint(v.height, 'vote.height');
  checkUint(v.round, 'vote.round', LIMITS.roundMax);
  if (v.blockHash !== null) checkLength(v.blockHash, 32, 'vote.blockHash');
  checkLength(v.validatorAddress, 20, 'vote.validatorAddress');
  return {
    type: VOTE_TYPE_CODE[v.type],
    height: v.height,
    round: v.round,
    blockHash: v.blockHash ?? ZERO_HASH,
    validatorAddress: v.validatorAddress,
  };
}

function invalidVote(reason: string): never {
  return invalid('vote', reason);
}

export function voteFromSsz(s: VoteValue): Vote {
  const type: VoteType =
    s.type === 1 ? 'prevote' : s.type === 2 ? 'precommit' : invalidVote(`type ${s.type}`);
  checkDecodedUint(s.height, 'vote.height');
  checkDecodedUint(s.round, 'vote.round', LIMITS.roundMax);
  return {
    type,
    height: s.height,
    round: s.round,
    blockHash: isZero(s.blockHash) ? null : s.blockHash,
    validatorAddress: s.validatorAddress,
  };
}

/** Encoded size of a Vote (SSZ fixed-size container). */
export const VOTE_BYTES = 65;
/** Encoded size of a SignedVote. */
export const SIGNED_VOTE_BYTES = VOTE_BYTES + 64;

/**
 * Writes the SSZ encoding of `v` at `out[at..at+65)`: type u8 ‖ height u64 LE ‖
 * round u32 LE ‖ blockHash (32, zeros for nil) ‖ validatorAddress (20). Votes
 * are the most frequent message (every vote's sign bytes are built to verify
 * it), so this fixed layout is written directly instead of through the
 * generic SSZ serializer; the tests check it is byte-for-byte
 * `VoteSsz.serialize`.
 */
function writeVote(out: Uint8Array, at: number, v: Vote): void {
  const s = voteToSsz(v); // the same checks, the same typed errors
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[at] = s.type;
  view.setUint32(at + 1, s.height % 0x1_0000_0000, true);
  view.setUint32(at + 5, Math.floor(s.height / 0x1_0000_0000), true);
  view.setUint32(at + 9, s.round, true);
  out.set(s.blockHash, at + 13);
  out.set(s.validatorAddress, at + 45);
}

export function encodeVote(v: Vote): Uint8Array {
  const out = new Uint8Array(VOTE_BYTES);
  writeVote(out, 0, v);
  return out;
}

export function decodeVote(bytes: Uint8Array): Vote {
  return voteFromSsz(sszDecode(VoteSsz, bytes, 'vote'));
}

export function encodeSignedVote(sv: SignedVote): Uint8Array {
  checkLength(sv.signature, 64, 'signedVote.signature');
  const out = new Uint8Array(SIGNED_VOTE_BYTES);
  writeVote(out, 0, sv.vote);
  out.set(sv.signature, VOTE_BYTES);
  return out;
}

export function decodeSignedVote(bytes: Uint8Array): SignedVote {
  const s = sszDecode(SignedVoteSsz, bytes, 'signedVote');
  return { vote: voteFromSsz(s.vote), signature: s.signature };
}
