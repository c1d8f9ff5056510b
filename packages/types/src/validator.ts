import { addressFromPublicKey, compareBytes, merkleRoot } from '@synod/crypto';
import {
  bytesEqual,
  checkDecodedUint,
  checkLength,
  checkUint,
  invalid,
  sszDecode,
  sszEncode,
} from './codec.js';
import { SynodError } from './errors.js';
import { SimpleValidatorSsz, ValidatorSetSsz } from './schema.js';

export interface Validator {
  /** First 20 bytes of SHA-256(pubKey). */
  readonly address: Uint8Array;
  readonly pubKey: Uint8Array;
  readonly votingPower: number;
  /** CometBFT-style proposer priority (int64). */
  readonly proposerPriority: bigint;
}

/** A validator set, sorted by address ascending (so the index is stable for everyone). */
export interface ValidatorSet {
  readonly validators: readonly Validator[];
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/**
 * Largest total voting power: 2^53 / 8, as CometBFT's MaxInt64 / 8, so that
 * quorum arithmetic (power × 3) and proposer priorities stay exact.
 */
export const MAX_TOTAL_VOTING_POWER = Math.floor(Number.MAX_SAFE_INTEGER / 8);

/** Bytewise order (validators sort by address): @synod/crypto's, re-exported for this package's users. */
export { compareBytes };

/** Checks the structural rules of a validator set; throws ENCODE_INVALID_VALUE / DECODE_INVALID_VALUE. */
export function validateValidatorSet(set: ValidatorSet, decoding = false): void {
  const fail = (reason: string): never =>
    decoding
      ? invalid('validatorSet', reason)
      : (() => {
          throw new SynodError('ENCODE_INVALID_VALUE', `validatorSet: ${reason}`);
        })();
  let total = 0;
  for (let i = 0; i < set.validators.length; i++) {
    const v = set.validators[i] as Validator;
    if (decoding) checkDecodedUint(v.votingPower, 'validator.votingPower');
    else {
      checkLength(v.address, 20, 'validator.address');
      checkLength(v.pubKey, 32, 'validator.pubKey');
      checkUint(v.votingPower, 'validator.votingPower');
    }
    if (v.votingPower === 0) fail(`validator ${i} has zero voting power`);
    if (!bytesEqual(v.address, addressFromPublicKey(v.pubKey)))
      fail(`validator ${i}: address does not match pubKey`);
    if (v.proposerPriority < I64_MIN || v.proposerPriority > I64_MAX) fail('proposer priority out of int64');
    total += v.votingPower;
    if (total > MAX_TOTAL_VOTING_POWER) fail('total voting power too large');
    if (i > 0 && compareBytes((set.validators[i - 1] as Validator).address, v.address) >= 0) {
      fail('validators must be sorted by address with no duplicates');
    }
  }
}

export function totalVotingPower(set: ValidatorSet): number {
  let t = 0;
  for (const v of set.validators) t += v.votingPower;
  return t;
}

/** Index of the validator with `address`, or -1. */
export function validatorIndex(set: ValidatorSet, address: Uint8Array): number {
  let lo = 0;
  let hi = set.validators.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes((set.validators[mid] as Validator).address, address);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Sorts validators by address (returns a new set). */
export function makeValidatorSet(validators: readonly Validator[]): ValidatorSet {
  const sorted = [...validators].sort((a, b) => compareBytes(a.address, b.address));
  const set = { validators: sorted };
  validateValidatorSet(set);
  return set;
}

export function validatorsEqual(a: ValidatorSet, b: ValidatorSet): boolean {
  if (a.validators.length !== b.validators.length) return false;
  return a.validators.every((v, i) => {
    const w = b.validators[i] as Validator;
    return bytesEqual(v.pubKey, w.pubKey) && v.votingPower === w.votingPower;
  });
}

/** Merkle root (RFC 6962) over SSZ(pubKey, votingPower) of each validator in order; priorities excluded. */
export function validatorSetHash(set: ValidatorSet): Uint8Array {
  return merkleRoot(
    set.validators.map((v) => SimpleValidatorSsz.serialize({ pubKey: v.pubKey, votingPower: v.votingPower })),
  );
}

const U64 = 1n << 64n;

export function encodeValidatorSet(set: ValidatorSet): Uint8Array {
  validateValidatorSet(set);
  return sszEncode(
    ValidatorSetSsz,
    {
      validators: set.validators.map((v) => ({
        address: v.address,
        pubKey: v.pubKey,
        votingPower: v.votingPower,
        proposerPriority: v.proposerPriority < 0n ? v.proposerPriority + U64 : v.proposerPriority,
      })),
    },
    'validatorSet',
  );
}

export function decodeValidatorSet(bytes: Uint8Array): ValidatorSet {
  const s = sszDecode(ValidatorSetSsz, bytes, 'validatorSet');
  const set: ValidatorSet = {
    validators: s.validators.map((v) => ({
      address: v.address,
      pubKey: v.pubKey,
      votingPower: v.votingPower,
      proposerPriority: BigInt.asIntN(64, v.proposerPriority),
    })),
  };
  validateValidatorSet(set, true);
  return set;
}
