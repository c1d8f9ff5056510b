import {
  bytesEqual,
  type Commit,
  isQuorum,
  totalVotingPower,
  type ValidatorSet,
  voteSignBytes,
} from '@synod/types';
import type { VerifyFn } from './signatures.js';

/**
 * @synod/types' `commitProblem` with the simulator's shared signature check:
 * why `commit` does not prove that more than 2/3 of `set` precommitted
 * `blockHash` at `height`, or undefined when it does.
 */
export function commitIssue(
  chainId: string,
  set: ValidatorSet,
  commit: Commit,
  verify: VerifyFn,
  expect: { readonly height: number; readonly blockHash: Uint8Array },
): string | undefined {
  if (commit.height !== expect.height)
    return `commit is for height ${commit.height}, expected ${expect.height}`;
  if (!bytesEqual(commit.blockHash, expect.blockHash)) return 'commit is for another block';
  if (commit.signatures.length !== set.validators.length) return 'commit has a wrong signature count';
  let power = 0;
  for (let i = 0; i < commit.signatures.length; i++) {
    const cs = commit.signatures[i] as Commit['signatures'][number];
    if (cs.flag === 'absent') continue;
    const v = set.validators[i] as ValidatorSet['validators'][number];
    const msg = voteSignBytes(chainId, {
      type: 'precommit',
      height: commit.height,
      round: commit.round,
      blockHash: cs.flag === 'commit' ? commit.blockHash : null,
      validatorAddress: v.address,
    });
    if (!verify(v.pubKey, msg, cs.signature)) return `invalid signature of validator ${i}`;
    if (cs.flag === 'commit') power += v.votingPower;
  }
  return isQuorum(power, totalVotingPower(set)) ? undefined : 'commit has no quorum';
}
