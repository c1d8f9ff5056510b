import { addressFromPublicKey, keyPairFromSeed } from '@synod/crypto';
import {
  type Block,
  blockHash,
  type Commit,
  commitHash,
  DEFAULT_CONSENSUS_PARAMS,
  EMPTY_COMMIT,
  type Evidence,
  evidenceListHash,
  makeValidatorSet,
  txsRoot,
  type ValidatorSet,
  ZERO_HASH,
} from '@synod/types';

export const CHAIN_ID = 'synod-storage-test';

/** The validator key of the crash test's child process. */
export const CRASH_VALIDATOR_SEED = new Uint8Array(32).fill(42);

/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const hash32 = (seed: number): Uint8Array => pseudoRandomBytes(32, seed);

export function makeCommit(height: number, hash: Uint8Array, round = 0, signers = 4): Commit {
  return {
    height,
    round,
    blockHash: hash,
    signatures: Array.from({ length: signers }, (_, i) => ({
      flag: 'commit' as const,
      signature: pseudoRandomBytes(64, height * 100 + i + 1),
    })),
  };
}

export interface ChainOptions {
  readonly txsPerBlock?: number;
  readonly txBytes?: number;
  readonly evidence?: (height: number) => Evidence[];
  /** Varies the blocks' contents (e.g. a run number), so two chains differ. */
  readonly salt?: number;
}

/**
 * Builds blocks from..from+count-1 that link by hash and carry the previous
 * block's commit, plus each block's seen commit. `previous` is the block
 * before `from`, if any.
 */
export function makeChain(
  from: number,
  count: number,
  options: ChainOptions = {},
  previous?: Block,
): { block: Block; seenCommit: Commit }[] {
  const out: { block: Block; seenCommit: Commit }[] = [];
  let prev = previous;
  for (let height = from; height < from + count; height++) {
    const txs = Array.from({ length: options.txsPerBlock ?? 3 }, (_, i) =>
      pseudoRandomBytes(options.txBytes ?? 64, height * 1000 + i + (options.salt ?? 0) * 7919),
    );
    const evidence = options.evidence?.(height) ?? [];
    const lastCommit = prev === undefined ? EMPTY_COMMIT : makeCommit(height - 1, blockHash(prev));
    const block: Block = {
      header: {
        chainId: CHAIN_ID,
        height,
        timeMs: 1_700_000_000_000 + height * 1000,
        lastBlockHash: prev === undefined ? ZERO_HASH : blockHash(prev),
        txsRoot: txsRoot(txs),
        validatorsHash: hash32(1),
        nextValidatorsHash: hash32(1),
        consensusParamsHash: hash32(2),
        appHash: hash32(height + 3 + (options.salt ?? 0)),
        lastResultsHash: hash32(4),
        evidenceHash: evidenceListHash(evidence),
        lastCommitHash: commitHash(lastCommit),
        proposerAddress: pseudoRandomBytes(20, height % 4),
      },
      txs,
      evidence,
      lastCommit,
    };
    out.push({ block, seenCommit: makeCommit(height, blockHash(block), 1) });
    prev = block;
  }
  return out;
}

export function makeValidators(count: number, power = 10, seedBase = 1): ValidatorSet {
  return makeValidatorSet(
    Array.from({ length: count }, (_, i) => {
      const { publicKey } = keyPairFromSeed(new Uint8Array(32).fill(seedBase + i));
      return {
        address: addressFromPublicKey(publicKey),
        pubKey: publicKey,
        votingPower: power,
        proposerPriority: 0n,
      };
    }),
  );
}

export function makeEvidence(height: number, variant = 0): Evidence {
  const validatorAddress = pseudoRandomBytes(20, 999 + variant);
  const vote = (tag: number) => ({
    vote: { type: 'prevote' as const, height, round: 0, blockHash: hash32(tag), validatorAddress },
    signature: pseudoRandomBytes(64, tag),
  });
  return {
    kind: 'duplicate-vote',
    voteA: vote(height * 10 + variant * 3 + 1),
    voteB: vote(height * 10 + variant * 3 + 2),
    validatorPower: 10,
    totalVotingPower: 40,
    timeMs: 1_700_000_000_000 + height * 1000,
  };
}

export { DEFAULT_CONSENSUS_PARAMS };
