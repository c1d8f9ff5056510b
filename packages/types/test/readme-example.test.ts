import { addressFromPublicKey, keyPairFromSeed, sign, verify } from '@synod/crypto';
import { describe, expect, it } from 'vitest';
import { decodeSignedVote, encodeSignedVote, type Vote, voteSignBytes } from '../src/index.js';

describe('README example', () => {
  it('signs, encodes, decodes and verifies a vote', () => {
    const key = keyPairFromSeed(new Uint8Array(32).fill(7));
    const vote: Vote = {
      type: 'prevote',
      height: 1,
      round: 0,
      blockHash: new Uint8Array(32).fill(0xab),
      validatorAddress: addressFromPublicKey(key.publicKey),
    };
    const signature = sign(key, voteSignBytes('synod-test', vote));
    const wire = encodeSignedVote({ vote, signature });
    const back = decodeSignedVote(wire);
    expect(verify(key.publicKey, voteSignBytes('synod-test', back.vote), back.signature)).toBe(true);
    expect(verify(key.publicKey, voteSignBytes('other-chain', back.vote), back.signature)).toBe(false);
  });
});
