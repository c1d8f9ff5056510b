import { addressFromPublicKey, keyPairFromSeed } from '@synod/crypto';
import {
  type Block,
  blockHash,
  type Commit,
  DEFAULT_CONSENSUS_PARAMS,
  EMPTY_COMMIT,
  makeValidatorSet,
  type ValidatorSet,
  voteSignBytes,
} from '@synod/types';
import {
  Checkers,
  createCounterApp,
  SIM_CHAIN_ID,
  SignatureOracle,
  type SimApplication,
} from '../src/index.js';

export interface Fixture {
  readonly set: ValidatorSet;
  readonly seeds: readonly Uint8Array[];
  readonly oracle: SignatureOracle;
  readonly app: () => SimApplication;
  readonly checkers: Checkers;
  /** A commit of `block` signed by the validators `by` (set indices). */
  commit(block: Block, by: readonly number[], round?: number): Commit;
}

/** Four validators (power 10), a counter app and checkers; validator 3 is Byzantine. */
export function fixture(): Fixture {
  const keys = [1, 2, 3, 4]
    .map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)))
    .map((k) => ({ ...k, address: addressFromPublicKey(k.publicKey) }));
  const set = makeValidatorSet(
    keys.map((k) => ({ address: k.address, pubKey: k.publicKey, votingPower: 10, proposerPriority: 0n })),
  );
  const seeds = set.validators.map((v) => {
    const k = keys.find((x) => x.address.every((b, i) => b === v.address[i]));
    if (k === undefined) throw new Error('key not found');
    return k.seed;
  });
  const oracle = new SignatureOracle();
  const factory = createCounterApp();
  const genesis = {
    chainId: SIM_CHAIN_ID,
    validatorSet: set,
    params: DEFAULT_CONSENSUS_PARAMS,
    verify: oracle.verify,
    seed: 7,
  };
  const checkers = new Checkers({
    chainId: SIM_CHAIN_ID,
    validators: set,
    honest: [true, true, true, false],
    params: DEFAULT_CONSENSUS_PARAMS,
    verify: oracle.verify,
    reference: factory.createNode(genesis).open(),
    now: () => 0,
  });
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
  return { set, seeds, oracle, app: () => factory.createNode(genesis).open(), checkers, commit };
}

/** Block 1 as built by validator `proposer` of the fixture (different proposers give different blocks). */
export async function firstBlock(f: Fixture, proposer: number, timeMs = 1_700_000_000_000): Promise<Block> {
  const v = f.set.validators[proposer];
  if (v === undefined) throw new Error('no such validator');
  return f
    .app()
    .buildBlock({ height: 1, round: 0, proposerAddress: v.address, lastCommit: EMPTY_COMMIT, timeMs });
}
