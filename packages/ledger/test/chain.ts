import { addressFromPublicKey, type KeyPair, sign } from '@synod/crypto';
import { createMemoryKvStore } from '@synod/storage';
import {
  type Block,
  blockHash,
  type Commit,
  commitHash,
  EMPTY_COMMIT,
  type Evidence,
  evidenceListHash,
  finalizeRequestFromBlock,
  type Genesis,
  type InitChainRequest,
  makeValidatorSet,
  type TxResult,
  txsRoot,
  type ValidatorSet,
  type ValidatorUpdate,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { Ledger, POWER_REDUCTION } from '../src/index.js';
import {
  addr,
  BLOCK_MS,
  bond,
  CHAIN_ID,
  GENESIS_TIME_MS,
  genesisRequest,
  key,
  OPERATORS,
  transfer,
  unbond,
  unjailTx,
  VALIDATOR_KEYS,
} from './helpers.js';

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function genesisOf(req: InitChainRequest): Genesis {
  return {
    chainId: req.chainId,
    genesisTimeMs: req.genesisTimeMs,
    initialHeight: req.initialHeight,
    consensusParams: req.consensusParams,
    validators: req.validators.map((v, i) => ({ name: `v${i}`, pubKey: v.pubKey, power: v.power })),
    appState: req.appState,
  };
}

/** Signed duplicate-vote evidence against `v` at `height`. */
export function duplicateVote(v: KeyPair, height: number): Evidence {
  const vote = (fill: number): Vote => ({
    type: 'precommit',
    height,
    round: 0,
    blockHash: new Uint8Array(32).fill(fill),
    validatorAddress: addressFromPublicKey(v.publicKey),
  });
  const a = vote(1);
  const b = vote(2);
  return {
    kind: 'duplicate-vote',
    voteA: { vote: a, signature: sign(v, voteSignBytes(CHAIN_ID, a)) },
    voteB: { vote: b, signature: sign(v, voteSignBytes(CHAIN_ID, b)) },
    validatorPower: 10,
    totalVotingPower: 46,
    timeMs: GENESIS_TIME_MS + height * BLOCK_MS,
  };
}

export interface BlockPlan {
  readonly txs: readonly Uint8Array[];
  readonly evidence?: readonly Evidence[];
}

/**
 * A random but reproducible workload: transfers among users (valid most of
 * the time), bonds and unbonds by the operators, some garbage, replays and
 * unaffordable transactions, and one double-sign in the middle.
 */
export function workload(seed: number, heights: number): BlockPlan[] {
  const rnd = prng(seed);
  const users = [key(10), key(11), key(12), ...OPERATORS];
  const nonces = new Map<KeyPair, number>(users.map((u) => [u, 0]));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const next = (u: KeyPair): number => {
    const n = nonces.get(u) ?? 0;
    nonces.set(u, n + 1);
    return n;
  };
  const plans: BlockPlan[] = [];
  for (let h = 1; h <= heights; h++) {
    const txs: Uint8Array[] = [];
    const count = Math.floor(rnd() * 12);
    for (let i = 0; i < count; i++) {
      const r = rnd();
      const u = pick(users);
      if (r < 0.6) {
        const to = rnd() < 0.2 ? addr(key(500 + Math.floor(rnd() * 20))) : addr(pick(users));
        txs.push(
          transfer(u, to, BigInt(1 + Math.floor(rnd() * 100_000)), {
            nonce: next(u),
            fee: 1_000n + BigInt(Math.floor(rnd() * 50)),
          }),
        );
      } else if (r < 0.7) {
        const i2 = Math.floor(rnd() * OPERATORS.length);
        const op = OPERATORS[i2] as KeyPair;
        const v = (VALIDATOR_KEYS[i2] as KeyPair).publicKey;
        const amount = BigInt(1 + Math.floor(rnd() * 3)) * POWER_REDUCTION;
        txs.push(
          rnd() < 0.5
            ? bond(op, v, amount, { nonce: next(op) })
            : unbond(op, v, amount / 2n, { nonce: next(op) }),
        );
      } else if (r < 0.75) {
        txs.push(
          bond(u, key(600 + Math.floor(rnd() * 3)).publicKey, 2n * POWER_REDUCTION, { nonce: next(u) }),
        );
      } else if (r < 0.8) {
        txs.push(unjailTx(u, (VALIDATOR_KEYS[1] as KeyPair).publicKey, { nonce: next(u) }));
      } else if (r < 0.87) {
        txs.push(Uint8Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)));
      } else if (r < 0.93) {
        txs.push(transfer(u, addr(key(10)), 1n, { nonce: (nonces.get(u) ?? 0) + 3 })); // gap: rejected
      } else {
        txs.push(transfer(key(900), addr(u), 1n, { nonce: 0 })); // no funds: rejected
      }
    }
    const evidence = h === Math.ceil(heights / 2) ? [duplicateVote(VALIDATOR_KEYS[2] as KeyPair, h - 1)] : [];
    plans.push({ txs, evidence });
  }
  return plans;
}

export interface BuiltChain {
  readonly genesis: Genesis;
  readonly blocks: readonly Block[];
  /** Seen commit of each block (for BlockStore.saveBlock). */
  readonly commits: readonly Commit[];
  /** appHashes[h] = app hash after height h (appHashes[0] = genesis). */
  readonly appHashes: readonly Uint8Array[];
  readonly results: readonly (readonly TxResult[])[];
  readonly updates: readonly (readonly ValidatorUpdate[])[];
}

/**
 * Who signs each block: the set whose signatures every `lastCommit` carries
 * (one set for the whole chain; the ledger trusts the commit info it is
 * given) and whether validator `index` of it signed the block at `height`.
 * Replays pass `set` to `finalizeRequestFromBlock` so that the ledger tracks
 * downtime.
 */
export interface Signers {
  readonly set: ValidatorSet;
  readonly signed: (index: number, height: number) => boolean;
}

/** The genesis validators of `genesisRequest()` as a validator set. */
export function genesisValidatorSet(): ValidatorSet {
  return makeValidatorSet(
    VALIDATOR_KEYS.map((k, i) => ({
      address: addressFromPublicKey(k.publicKey),
      pubKey: k.publicKey,
      votingPower: 10 + i,
      proposerPriority: 0n,
    })),
  );
}

/**
 * Runs `plans` on a reference ledger, producing real blocks whose headers
 * carry the app hashes. Without `signers` the commits carry no signatures
 * (and the ledger tracks no downtime).
 */
export async function buildChain(
  plans: readonly BlockPlan[],
  req: InitChainRequest = genesisRequest(),
  signers?: Signers,
): Promise<BuiltChain> {
  const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
  const init = await ledger.initChain(req);
  const appHashes: Uint8Array[] = [init.appHash];
  const blocks: Block[] = [];
  const commits: Commit[] = [];
  const results: TxResult[][] = [];
  const updates: ValidatorUpdate[][] = [];
  let lastCommit: Commit = EMPTY_COMMIT;
  let lastHash: Uint8Array = new Uint8Array(32);
  const zero = new Uint8Array(32);
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i] as BlockPlan;
    const height = i + 1;
    const proposer = VALIDATOR_KEYS[height % VALIDATOR_KEYS.length] as KeyPair;
    const evidence = plan.evidence ?? [];
    const block: Block = {
      header: {
        chainId: req.chainId,
        height,
        timeMs: req.genesisTimeMs + height * BLOCK_MS,
        lastBlockHash: lastHash,
        txsRoot: txsRoot(plan.txs),
        validatorsHash: zero,
        nextValidatorsHash: zero,
        consensusParamsHash: zero,
        appHash: appHashes[i] as Uint8Array,
        lastResultsHash: zero,
        evidenceHash: evidenceListHash(evidence),
        lastCommitHash: commitHash(lastCommit),
        proposerAddress: addressFromPublicKey(proposer.publicKey),
      },
      txs: plan.txs,
      evidence,
      lastCommit,
    };
    const res = await ledger.finalizeBlock(finalizeRequestFromBlock(block, signers?.set));
    await ledger.commit();
    appHashes.push(res.appHash);
    results.push([...res.txResults]);
    updates.push([...res.validatorUpdates]);
    blocks.push(block);
    lastHash = blockHash(block);
    const signatures =
      signers?.set.validators.map((_, index) =>
        signers.signed(index, height)
          ? { flag: 'commit' as const, signature: new Uint8Array(64).fill(1) }
          : { flag: 'absent' as const, signature: new Uint8Array(64) },
      ) ?? [];
    lastCommit = { height, round: 0, blockHash: lastHash, signatures };
    commits.push(lastCommit);
  }
  return { genesis: genesisOf(req), blocks, commits, appHashes, results, updates };
}
