import { addressFromPublicKey } from '@synod/crypto';
import fc from 'fast-check';
import {
  type Block,
  type Commit,
  type ConsensusParams,
  DEFAULT_CONSENSUS_PARAMS,
  type Evidence,
  type Header,
  type Proposal,
  type SignedProposal,
  type SignedVote,
  type Tx,
  type TxMsg,
  type ValidatorSet,
  type Vote,
} from '../src/index.js';

export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const hash = bytes(32);
export const nonZeroHash = hash.filter((h) => h.some((b) => b !== 0));
export const address = bytes(20);
export const sig = bytes(64);
export const height = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
export const round = fc.integer({ min: 0, max: 0xffff_fffe });
export const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const chainId = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}$/);

export const vote: fc.Arbitrary<Vote> = fc.record({
  type: fc.constantFrom('prevote' as const, 'precommit' as const),
  height,
  round,
  blockHash: fc.option(nonZeroHash, { nil: null }),
  validatorAddress: address,
});

export const signedVote: fc.Arbitrary<SignedVote> = fc.record({ vote, signature: sig });

export const proposal: fc.Arbitrary<Proposal> = fc
  .record({
    height,
    round: fc.integer({ min: 0, max: 1000 }),
    pol: fc.integer({ min: -1, max: 999 }),
    blockHash: nonZeroHash,
    timestampMs: u53,
    proposerAddress: address,
  })
  .map(({ pol, ...p }) => ({ ...p, polRound: pol < p.round ? pol : -1 }));

export const signedProposal: fc.Arbitrary<SignedProposal> = fc.record({ proposal, signature: sig });

export const evidence: fc.Arbitrary<Evidence> = fc.oneof(
  fc.record({
    kind: fc.constant('duplicate-vote' as const),
    voteA: signedVote,
    voteB: signedVote,
    validatorPower: u53,
    totalVotingPower: u53,
    timeMs: u53,
  }),
  fc.record({
    kind: fc.constant('double-proposal' as const),
    proposalA: signedProposal,
    proposalB: signedProposal,
    validatorPower: u53,
    totalVotingPower: u53,
    timeMs: u53,
  }),
);

export const header: fc.Arbitrary<Header> = fc.record({
  chainId,
  height,
  timeMs: u53,
  lastBlockHash: hash,
  txsRoot: hash,
  validatorsHash: hash,
  nextValidatorsHash: hash,
  consensusParamsHash: hash,
  appHash: hash,
  lastResultsHash: hash,
  evidenceHash: hash,
  lastCommitHash: hash,
  proposerAddress: address,
});

export const commit: fc.Arbitrary<Commit> = fc.record({
  height: u53,
  round,
  blockHash: hash,
  signatures: fc.array(
    fc.oneof(
      fc.record({ flag: fc.constant('absent' as const), signature: fc.constant(new Uint8Array(64)) }),
      fc.record({ flag: fc.constantFrom('commit' as const, 'nil' as const), signature: sig }),
    ),
    { maxLength: 8 },
  ),
});

export const block: fc.Arbitrary<Block> = fc.record({
  header,
  txs: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
  evidence: fc.array(evidence, { maxLength: 2 }),
  lastCommit: commit,
});

export const txMsg: fc.Arbitrary<TxMsg> = fc.oneof(
  fc.record({ kind: fc.constant('transfer' as const), to: address, amount: u64 }),
  fc.record({ kind: fc.constant('bond' as const), validatorPubKey: hash, amount: u64 }),
  fc.record({ kind: fc.constant('unbond' as const), validatorPubKey: hash, amount: u64 }),
  fc.record({ kind: fc.constant('unjail' as const), validatorPubKey: hash }),
);

export const tx: fc.Arbitrary<Tx> = fc.record({
  body: fc.record({
    chainId,
    sender: hash,
    nonce: u53,
    fee: u64,
    gasLimit: u53,
    msg: txMsg,
    memo: fc.uint8Array({ maxLength: 256 }),
  }),
  signature: sig,
});

export const validatorSet: fc.Arbitrary<ValidatorSet> = fc
  .uniqueArray(hash, { minLength: 1, maxLength: 8, selector: (k) => Buffer.from(k).toString('hex') })
  .chain((keys) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: keys.length, maxLength: keys.length }),
        fc.array(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), {
          minLength: keys.length,
          maxLength: keys.length,
        }),
      )
      .map(([powers, priorities]) => {
        const validators = keys.map((pubKey, i) => ({
          address: addressFromPublicKey(pubKey),
          pubKey,
          votingPower: powers[i] as number,
          proposerPriority: priorities[i] as bigint,
        }));
        validators.sort((a, b) => Buffer.compare(Buffer.from(a.address), Buffer.from(b.address)));
        return { validators };
      }),
  );

export const consensusParams: fc.Arbitrary<ConsensusParams> = fc
  .record({
    proposeMs: fc.integer({ min: 1, max: 10_000 }),
    delta: fc.integer({ min: 0, max: 10_000 }),
    maxBytes: fc.integer({ min: 2 * 1024 * 1024, max: 64 * 1024 * 1024 }),
    window: fc.integer({ min: 1, max: 10_000 }),
    ppm: fc.integer({ min: 0, max: 1_000_000 }),
  })
  .map(({ proposeMs, delta, maxBytes, window, ppm }) => ({
    ...DEFAULT_CONSENSUS_PARAMS,
    timeouts: { ...DEFAULT_CONSENSUS_PARAMS.timeouts, proposeMs, proposeDeltaMs: delta, capMs: 60_000 },
    block: { ...DEFAULT_CONSENSUS_PARAMS.block, maxBytes },
    slashing: { ...DEFAULT_CONSENSUS_PARAMS.slashing, signedBlocksWindow: window, downtimeSlashPpm: ppm },
  }));
