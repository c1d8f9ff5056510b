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

const copy = (b: Uint8Array, start: number, end: number): Uint8Array =>
  Uint8Array.prototype.slice.call(b, start, end);
/** Little-endian u32 at `at`. */
const readU32 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) |
    ((b[at + 1] as number) << 8) |
    ((b[at + 2] as number) << 16) |
    ((b[at + 3] as number) << 24)) >>>
  0;

/**
 * A SignedVote from its SSZ bytes. Votes are the most frequent message
 * (gossip screens every copy a peer relays, then validation decodes the
 * first), so the fixed layout `writeVote` writes is read directly: the same
 * values, checks and errors, in the same order, as `SignedVoteSsz` and
 * `voteFromSsz` (a fixed-size container of that length decodes from any
 * bytes). Any other length, and a height above 2^53 − 1, take the generic
 * path; the tests compare the two.
 */
export function decodeSignedVote(bytes: Uint8Array): SignedVote {
  if (bytes instanceof Uint8Array && bytes.length === SIGNED_VOTE_BYTES) {
    const hi = readU32(bytes, 5);
    if (hi <= 0x1f_ffff) {
      const t = bytes[0];
      const type: VoteType = t === 1 ? 'prevote' : t === 2 ? 'precommit' : invalidVote(`type ${t}`);
      const height = hi * 0x1_0000_0000 + readU32(bytes, 1);
      checkDecodedUint(height, 'vote.height');
      const round = readU32(bytes, 9);
      checkDecodedUint(round, 'vote.round', LIMITS.roundMax);
      const blockHash = copy(bytes, 13, 45);
      return {
        vote: {
          type,
          height,
          round,
          blockHash: isZero(blockHash) ? null : blockHash,
          validatorAddress: copy(bytes, 45, VOTE_BYTES),
        },
        signature: copy(bytes, VOTE_BYTES, SIGNED_VOTE_BYTES),
      };
    }
  }
  return decodeSignedVoteSsz(bytes);
}

/** `decodeSignedVote` through the generic SSZ decoder (its reference; exported for the tests). */
export function decodeSignedVoteSsz(bytes: Uint8Array): SignedVote {
  const s = sszDecode(SignedVoteSsz, bytes, 'signedVote');
  return { vote: voteFromSsz(s.vote), signature: s.signature };
}
