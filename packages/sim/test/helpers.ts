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
  applicationOf,
  Checkers,
  SIM_CHAIN_ID,
  SignatureOracle,
  type SimAppGenesis,
  type SimApplication,
  type SimAppStorage,
  simConsensusParams,
} from '../src/index.js';

export const GENESIS_MS = 1_700_000_000_000;

export interface Fixture {
  readonly set: ValidatorSet;
  readonly seeds: readonly Uint8Array[];
  readonly oracle: SignatureOracle;
  readonly genesis: SimAppGenesis;
  /** A fresh node's application (each call: a new node). */
  readonly app: () => Promise<SimApplication>;
  /** A fresh node's storage (open it again to restart the node). */
  readonly storage: () => SimAppStorage;
  readonly checkers: Checkers;
  /** A commit of `block` signed by the validators `by` (set indices). */
  commit(block: Block, by: readonly number[], round?: number): Commit;
}

/**
 * Four validators (power 10), an application (the counter by default) and
 * checkers whose reference runs it; validator 3 is Byzantine.
 */
export async function fixture(app: 'counter' | 'ledger' = 'counter'): Promise<Fixture> {
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
  const factory = applicationOf(app);
  const params = simConsensusParams(DEFAULT_CONSENSUS_PARAMS.timeouts);
  const genesis: SimAppGenesis = {
    chainId: SIM_CHAIN_ID,
    genesisTimeMs: GENESIS_MS,
    validatorSet: set,
    params,
    verify: oracle.verify,
    seed: 7,
  };
  const checkers = new Checkers({
    chainId: SIM_CHAIN_ID,
    addresses: set.validators.map((v) => v.address),
    honest: [true, true, true, false],
    params,
    verify: oracle.verify,
    reference: await factory.createNode(genesis).open(),
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
  return {
    set,
    seeds,
    oracle,
    genesis,
    app: () => factory.createNode(genesis).open(),
    storage: () => factory.createNode(genesis),
    checkers,
    commit,
  };
}

/** Block 1 as built by validator `proposer` of the fixture (different proposers give different blocks). */
export async function firstBlock(f: Fixture, proposer: number, timeMs = GENESIS_MS + 1000): Promise<Block> {
  const v = f.set.validators[proposer];
  if (v === undefined) throw new Error('no such validator');
  const app = await f.app();
  return app.buildBlock({
    height: 1,
    round: 0,
    proposerAddress: v.address,
    lastCommit: EMPTY_COMMIT,
    timeMs,
  });
}
