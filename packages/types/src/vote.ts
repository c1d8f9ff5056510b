import {
  checkDecodedUint,
  checkLength,
  checkUint,
  invalid,
  isZero,
  sszDecode,
  sszEncode,
  ZERO_HASH,
} from './codec.js';
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

export function encodeVote(v: Vote): Uint8Array {
  return sszEncode(VoteSsz, voteToSsz(v), 'vote');
}

export function decodeVote(bytes: Uint8Array): Vote {
  return voteFromSsz(sszDecode(VoteSsz, bytes, 'vote'));
}

export function encodeSignedVote(sv: SignedVote): Uint8Array {
  checkLength(sv.signature, 64, 'signedVote.signature');
  return sszEncode(SignedVoteSsz, { vote: voteToSsz(sv.vote), signature: sv.signature }, 'signedVote');
}

export function decodeSignedVote(bytes: Uint8Array): SignedVote {
  const s = sszDecode(SignedVoteSsz, bytes, 'signedVote');
  return { vote: voteFromSsz(s.vote), signature: s.signature };
}
