import { addressFromPublicKey, keyPairFromSeed } from '@synod/crypto';
import {
  type Block,
  blockHash,
  type Commit,
  canonicalEvidence,
  DEFAULT_CONSENSUS_PARAMS,
  EMPTY_COMMIT,
  type Evidence,
  type SignedVote,
  type ValidatorSet,
  voteSignBytes,
} from '@synod/types';
import {
  Checkers,
  GENESIS_TIME_MS,
  ReferenceChain,
  SIM_CHAIN_ID,
  SignatureOracle,
  SimChain,
  simConsensusParams,
  type ValidatorKey,
  withEvidence,
} from '../src/index.js';

export const GENESIS_MS = GENESIS_TIME_MS;

const clock = { now: () => GENESIS_MS + 1_000_000, setTimer: () => () => undefined };

export interface Fixture {
  readonly chain: SimChain;
  readonly set: ValidatorSet;
  readonly seeds: readonly Uint8Array[];
  readonly oracle: SignatureOracle;
  /** The checkers' reference (it executes what the checkers are told was decided). */
  readonly reference: ReferenceChain;
  readonly checkers: Checkers;
  /** A fresh node's chain: @synod/node's executor over memory stores and the ledger. */
  node(): Promise<ReferenceChain>;
  /** A commit of `block` signed by the validators `by` (set indices). */
  commit(block: Block, by: readonly number[], round?: number): Commit;
}

/** Four validators (power 10), a chain with funded accounts and checkers; validator 3 is Byzantine. */
export async function fixture(): Promise<Fixture> {
  const keys: ValidatorKey[] = [1, 2, 3, 4]
    .map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)))
    .map((k) => ({ seed: k.seed, publicKey: k.publicKey, address: addressFromPublicKey(k.publicKey) }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.address), Buffer.from(b.address)));
  const oracle = new SignatureOracle();
  for (const k of keys) oracle.register(k.publicKey, k.seed);
  const params = simConsensusParams(DEFAULT_CONSENSUS_PARAMS.timeouts);
  const chain = new SimChain(keys, [10, 10, 10, 10], params, 7);
  const set = chain.validatorSet;
  const reference = await ReferenceChain.create(chain, oracle.verify, clock);
  const checkers = new Checkers({
    chainId: SIM_CHAIN_ID,
    addresses: set.validators.map((v) => v.address),
    honest: [true, true, true, false],
    params,
    verify: oracle.verify,
    reference,
    now: () => 0,
  });
  const seeds = keys.map((k) => k.seed);
  const commit = (block: Block, by: readonly number[], round = 0): Commit => {
    const hash = blockHash(block);
    return {
      height: block.header.height,
      round,
      blockHash: hash,
      signatures: set.validators.map((v, i) => {
        if (!by.includes(i)) return { flag: 'absent', signature: new Uint8Array(64) };
        const msg = voteSignBytes(SIM_CHAIN_ID, {
          type: 'precommit',
          height: block.header.height,
          round,
          blockHash: hash,
          validatorAddress: v.address,
        });
        return { flag: 'commit', signature: oracle.sign(seeds[i] as Uint8Array, v.pubKey, msg) };
      }),
    };
  };
  return {
    chain,
    set,
    seeds,
    oracle,
    reference,
    checkers,
    node: () => ReferenceChain.create(chain, oracle.verify, clock),
    commit,
  };
}

/** The next block as validator `proposer` builds it on `node`, with the commit of `last` by `signers`. */
export async function nextBlock(
  f: Fixture,
  node: ReferenceChain,
  last: Block | undefined,
  proposer: number,
  signers: readonly number[] = [0, 1, 2, 3],
): Promise<Block> {
  const v = f.set.validators[proposer];
  if (v === undefined) throw new Error('no validator');
  return node.buildBlock({
    height: (last?.header.height ?? 0) + 1,
    round: 0,
    proposerAddress: v.address,
    lastCommit: last === undefined ? EMPTY_COMMIT : f.commit(last, signers),
    timeMs: (last?.header.timeMs ?? GENESIS_MS) + 1000,
  });
}

/** Block 1 as validator `proposer` builds it (different proposers give different blocks). */
export async function firstBlock(f: Fixture, proposer: number): Promise<Block> {
  return nextBlock(f, await f.node(), undefined, proposer);
}

/** Validator `v` signs a prevote for `blockHash` at (height, round). */
export function prevote(
  f: Fixture,
  v: number,
  height: number,
  blockHash: Uint8Array | null,
  round = 0,
): SignedVote {
  const val = f.set.validators[v];
  if (val === undefined) throw new Error('no validator');
  const body = { type: 'prevote' as const, height, round, blockHash, validatorAddress: val.address };
  return {
    vote: body,
    signature: f.oracle.sign(f.seeds[v] as Uint8Array, val.pubKey, voteSignBytes(SIM_CHAIN_ID, body)),
  };
}

/** Validator `v` signs two different prevotes at (height, 0): duplicate-vote evidence. */
export function doubleSign(f: Fixture, v: number, height: number, timeMs: number): Evidence {
  return canonicalEvidence({
    kind: 'duplicate-vote',
    voteA: prevote(f, v, height, new Uint8Array(32).fill(5)),
    voteB: prevote(f, v, height, null),
    validatorPower: 10,
    totalVotingPower: 40,
    timeMs,
  });
}

/**
 * A chain of `blocks` blocks decided by node 0 (the checkers are told) and
 * executed by a node of its own, each commit signed by `signers`, block 2
 * carrying `evidence` (made once block 1 is known).
 */
export async function decidedChain(
  f: Fixture,
  blocks: number,
  signers: readonly number[],
  evidence: (b1: Block) => readonly Evidence[] = () => [],
): Promise<{ readonly node: ReferenceChain; readonly last: Block }> {
  const node = await f.node();
  let last: Block | undefined;
  for (let h = 1; h <= blocks; h++) {
    let block = await nextBlock(f, node, last, h % 3, signers);
    if (h === 2 && last !== undefined) block = withEvidence(block, evidence(last));
    const commit = f.commit(block, signers);
    await f.checkers.onDecide(0, block, commit);
    await node.execute(block, commit);
    last = block;
  }
  if (last === undefined) throw new Error('no block');
  return { node, last };
}
