import { addressFromPublicKey, keyPairFromSeed, merkleRoot } from '@synod/crypto';
import { describe, expect, it } from 'vitest';
import {
  type Block,
  blockHash,
  type CommitSig,
  commitInfoFromBlock,
  countsAsSigned,
  EMPTY_COMMIT,
  type Evidence,
  finalizeRequestFromBlock,
  makeValidatorSet,
  processProposalRequestFromBlock,
  resultsHash,
  ZERO_HASH,
} from '../src/index.js';

const keys = [1, 2, 3].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));
const set = makeValidatorSet(
  keys.map((k, i) => ({
    address: addressFromPublicKey(k.publicKey),
    pubKey: k.publicKey,
    votingPower: 10 + i,
    proposerPriority: 0n,
  })),
);

function block(signatures: readonly CommitSig[], evidence: readonly Evidence[] = []): Block {
  return {
    header: {
      chainId: 'abci-test',
      height: 5,
      timeMs: 1_700_000_000_000,
      lastBlockHash: ZERO_HASH,
      txsRoot: ZERO_HASH,
      validatorsHash: ZERO_HASH,
      nextValidatorsHash: ZERO_HASH,
      consensusParamsHash: ZERO_HASH,
      appHash: ZERO_HASH,
      lastResultsHash: ZERO_HASH,
      evidenceHash: ZERO_HASH,
      lastCommitHash: ZERO_HASH,
      proposerAddress: set.validators[0]?.address as Uint8Array,
    },
    txs: [Uint8Array.of(1, 2, 3)],
    evidence,
    lastCommit: { height: 4, round: 1, blockHash: new Uint8Array(32).fill(9), signatures },
  };
}

describe('ABCI requests from a block', () => {
  it('counts a nil precommit as signed; only an absent signature is a miss (the Cosmos rule, #11.21)', () => {
    const sig = new Uint8Array(64).fill(3);
    const b = block([
      { flag: 'commit', signature: sig },
      { flag: 'nil', signature: sig },
      { flag: 'absent', signature: new Uint8Array(64) },
    ]);
    const info = commitInfoFromBlock(b, set);
    expect(info.round).toBe(1);
    expect(info.votes.map((v) => v.signed)).toEqual([true, true, false]);
    expect(info.votes.map((v) => v.validatorAddress)).toEqual(set.validators.map((v) => v.address));
    expect(info.votes.map((v) => v.power)).toEqual(set.validators.map((v) => v.votingPower));
    expect(countsAsSigned(undefined)).toBe(false);
    // Without the previous set (the initial height): no vote list.
    expect(commitInfoFromBlock(b)).toEqual({ round: 1, votes: [] });
  });

  it('maps header, transactions and evidence into FinalizeBlock and ProcessProposal', () => {
    const b = { ...block([]), lastCommit: EMPTY_COMMIT };
    const fin = finalizeRequestFromBlock(b, set);
    expect(fin).toMatchObject({
      height: 5,
      timeMs: b.header.timeMs,
      proposerAddress: b.header.proposerAddress,
      txs: b.txs,
      misbehavior: [],
    });
    expect(fin.hash).toEqual(blockHash(b));
    const proc = processProposalRequestFromBlock(b);
    expect(proc).toEqual({
      height: 5,
      timeMs: b.header.timeMs,
      proposerAddress: b.header.proposerAddress,
      hash: blockHash(b),
      txs: b.txs,
      misbehavior: [],
    });
  });
});

describe('resultsHash', () => {
  it('is the Merkle root of (gas used u64 BE ‖ code) per transaction, log and events excluded', () => {
    const leaf = (gas: number, code: string): Uint8Array => {
      const c = new TextEncoder().encode(code);
      const out = new Uint8Array(8 + c.length);
      out[7] = gas; // gas < 256 here: the low byte of the big-endian u64
      out.set(c, 8);
      return out;
    };
    const results = [
      { code: 'OK', log: 'anything', gasUsed: 200, events: [] },
      { code: 'TX_BAD_NONCE', log: '', gasUsed: 0, events: [{ type: 'x', attributes: {} }] },
    ];
    expect(resultsHash(results)).toEqual(merkleRoot([leaf(200, 'OK'), leaf(0, 'TX_BAD_NONCE')]));
    expect(resultsHash([{ ...results[0]!, log: 'other' }, results[1]!])).toEqual(resultsHash(results));
    expect(resultsHash([results[1]!, results[0]!])).not.toEqual(resultsHash(results));
    expect(resultsHash([])).toEqual(merkleRoot([]));
    // A fixed value: a change of the encoding would change every later header (and split old nodes off).
    expect(Buffer.from(resultsHash(results)).toString('hex')).toBe(
      '4a16aebd4de8c11e6f295c2958108d1656dd58d5de65f2f93732f471cbf0669d',
    );
  });
});
