import { addressFromPublicKey } from '@synod/crypto';
import { type Block, type CommitSig, makeValidatorSet } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { commitInfoFromBlock } from '../src/index.js';
import { VALIDATOR_KEYS } from './helpers.js';

describe('commitInfoFromBlock (#11.21)', () => {
  it('counts a nil precommit as signed; only an absent signature is a miss (the Cosmos rule)', () => {
    const set = makeValidatorSet(
      VALIDATOR_KEYS.slice(0, 3).map((k) => ({
        address: addressFromPublicKey(k.publicKey),
        pubKey: k.publicKey,
        votingPower: 10,
        proposerPriority: 0n,
      })),
    );
    const sig = new Uint8Array(64).fill(3);
    const signatures: CommitSig[] = [
      { flag: 'commit', signature: sig },
      { flag: 'nil', signature: sig },
      { flag: 'absent', signature: new Uint8Array(64) },
    ];
    const block = {
      lastCommit: { height: 4, round: 1, blockHash: new Uint8Array(32), signatures },
    } as unknown as Block;
    const info = commitInfoFromBlock(block, set);
    expect(info.round).toBe(1);
    expect(info.votes.map((v) => v.signed)).toEqual([true, true, false]);
    expect(info.votes.map((v) => v.validatorAddress)).toEqual(set.validators.map((v) => v.address));
  });
});
