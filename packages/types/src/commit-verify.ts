import { verify } from '@synod/crypto';
import type { Commit } from './block.js';
import { bytesEqual } from './codec.js';
import { hasTwoThirdsMajority } from './quorum.js';
import { voteSignBytes } from './sign-bytes.js';
import type { Validator, ValidatorSet } from './validator.js';

export interface VerifyCommitOptions {
  /** Expected height and block hash (e.g. from the header being synced). */
  readonly height?: number;
  readonly blockHash?: Uint8Array;
  /** Signature check (default: @synod/crypto's `verify`); a caller with a verified-signature cache passes its own. */
  readonly verifySignature?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
}

/**
 * Verifies that `commit` carries precommits for its block from more than 2/3
 * of the power of `set` (the validator set at the commit's height), with valid
 * signatures under `chainId`. Every present signature is checked, including nil
 * precommits. Returns a reason when invalid, undefined when valid.
 */
export function commitProblem(
  chainId: string,
  set: ValidatorSet,
  commit: Commit,
  options: VerifyCommitOptions = {},
): string | undefined {
  if (options.height !== undefined && commit.height !== options.height) {
    return `commit is for height ${commit.height}, expected ${options.height}`;
  }
  if (options.blockHash !== undefined && !bytesEqual(commit.blockHash, options.blockHash)) {
    return 'commit is for another block';
  }
  if (commit.signatures.length !== set.validators.length) {
    return `commit has ${commit.signatures.length} signatures for ${set.validators.length} validators`;
  }
  const check = options.verifySignature ?? verify;
  // Sums in bigint: exact for any set, whatever its total.
  let power = 0n;
  let total = 0n;
  for (const v of set.validators) total += BigInt(v.votingPower);
  for (let i = 0; i < commit.signatures.length; i++) {
    const cs = commit.signatures[i] as Commit['signatures'][number];
    if (cs.flag === 'absent') continue;
    const v = set.validators[i] as Validator;
    const msg = voteSignBytes(chainId, {
      type: 'precommit',
      height: commit.height,
      round: commit.round,
      blockHash: cs.flag === 'commit' ? commit.blockHash : null,
      validatorAddress: v.address,
    });
    if (!check(v.pubKey, msg, cs.signature)) return `invalid signature of validator ${i}`;
    if (cs.flag === 'commit') power += BigInt(v.votingPower);
  }
  if (!hasTwoThirdsMajority(power, total)) return 'commit does not have more than 2/3 of the voting power';
  return undefined;
}
