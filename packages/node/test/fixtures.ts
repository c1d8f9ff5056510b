/** Shared test fixtures: a small chain run by @synod/ledger, over memory storage. */
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign, verify } from '@synod/crypto';
import { EvidencePool } from '@synod/fault-detector';
import { Ledger, ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import { Mempool } from '@synod/mempool';
import { createMemoryNodeStorage, createSigner, type NodeStorage } from '@synod/storage';
import {
  type Block,
  blockHash,
  type Clock,
  type Commit,
  DEFAULT_CONSENSUS_PARAMS,
  encodeTx,
  type Genesis,
  type LogContext,
  type Logger,
  noopLogger,
  noopMetrics,
  type TxBody,
  txSignBytes,
  voteSignBytes,
} from '@synod/types';
import {
  BlockExecutor,
  type ChainState,
  createNode,
  handshake,
  type MemoryNetwork,
  type NodeInit,
  type SynodNode,
} from '../src/index.js';

export const CHAIN_ID = 'node-test';
export const GENESIS_TIME_MS = 1_700_000_000_000;
export const MIN_FEE = 10n;

function keyOf(tag: number, i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = tag;
  seed[1] = i;
  return keyPairFromSeed(seed);
}

export const VALIDATORS = [0, 1, 2, 3].map((i) => keyOf(0x76, i));
export const ACCOUNTS = [0, 1, 2, 3].map((i) => keyOf(0x61, i));
export const address = (k: KeyPair): Uint8Array => addressFromPublicKey(k.publicKey);

/**
 * A chain of the first `validators` validators (power 10 each, or `powers`),
 * the accounts funded.
 */
export function testGenesis(
  validators = 1,
  timeouts: Partial<Genesis['consensusParams']['timeouts']> = {},
  powers: readonly number[] = [],
): Genesis {
  const keys = VALIDATORS.slice(0, validators);
  const power = (i: number): number => powers[i] ?? 10;
  return {
    chainId: CHAIN_ID,
    genesisTimeMs: GENESIS_TIME_MS,
    initialHeight: 1,
    consensusParams: {
      ...DEFAULT_CONSENSUS_PARAMS,
      timeouts: { ...DEFAULT_CONSENSUS_PARAMS.timeouts, commitMs: 1, proposeMs: 300, ...timeouts },
    },
    validators: keys.map((k, i) => ({ name: `v${i}`, pubKey: k.publicKey, power: power(i) })),
    appState: ledgerAppState({
      minFee: MIN_FEE,
      accounts: ACCOUNTS.map((a) => ({ address: address(a), balance: 1_000_000_000n })),
      validators: keys.map((k, i) => ({ pubKey: k.publicKey, stake: BigInt(power(i)) * POWER_REDUCTION })),
    }),
  };
}

/** A signed transfer of `amount` from `from` to account `to`, with `memo` bytes of padding. */
export function transfer(
  from: KeyPair,
  nonce: number,
  to = ACCOUNTS[3] as KeyPair,
  amount = 1n,
  memo = 0,
): Uint8Array {
  const body: TxBody = {
    chainId: CHAIN_ID,
    sender: from.publicKey,
    nonce,
    fee: MIN_FEE,
    gasLimit: 10_000,
    msg: { kind: 'transfer', to: address(to), amount },
    memo: new Uint8Array(memo),
  };
  return encodeTx({ body, signature: sign(from, txSignBytes(CHAIN_ID, body)) });
}

/** The commit of `block` signed by every validator in `keys` (round 0), in the set's order. */
export function commitOf(block: Block, keys: readonly KeyPair[], order: readonly Uint8Array[]): Commit {
  const hash = blockHash(block);
  const h = block.header.height;
  return {
    height: h,
    round: 0,
    blockHash: hash,
    signatures: order.map((addr) => {
      const k = keys.find((x) => Buffer.from(address(x)).equals(Buffer.from(addr)));
      if (k === undefined) return { flag: 'absent' as const, signature: new Uint8Array(64) };
      const vote = {
        type: 'precommit' as const,
        height: h,
        round: 0,
        blockHash: hash,
        validatorAddress: addr,
      };
      return { flag: 'commit' as const, signature: sign(k, voteSignBytes(CHAIN_ID, vote)) };
    }),
  };
}

/** The wall clock (tests only: the node reads time through its Clock port). */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** A clock stopped at `nowMs` whose timers never fire. */
export function fixedClock(nowMs: number): Clock {
  return { now: () => nowMs, setTimer: () => () => undefined };
}

export interface ExecutorFixture {
  readonly storage: NodeStorage;
  readonly ledger: Ledger;
  readonly chain: ChainState;
  readonly mempool: Mempool;
  readonly pool: EvidencePool;
  readonly executor: BlockExecutor;
}

/** A block executor over a new chain (one validator), the clock at `nowMs`. */
export async function executorFixture(
  genesis: Genesis = testGenesis(1),
  nowMs = GENESIS_TIME_MS + 60_000,
): Promise<ExecutorFixture> {
  const storage = await createMemoryNodeStorage();
  const ledger = await Ledger.open({ kv: storage.state.appState });
  const { chain } = await handshake({
    application: ledger,
    storage,
    genesis,
    blockTimesCacheHeights: 100,
    logger: noopLogger,
  });
  const mempool = new Mempool(ledger, { height: 0 });
  const pool = new EvidencePool();
  const executor = new BlockExecutor({
    application: ledger,
    storage,
    chain,
    mempool,
    evidencePool: pool,
    clock: fixedClock(nowMs),
    verifySignature: verify,
    logger: noopLogger,
    metrics: noopMetrics,
    onExecuted: () => undefined,
  });
  return { storage, ledger, chain, mempool, pool, executor };
}

/** A validator node over `network` (memory storage unless given), with the ledger as its application. */
export async function validatorNode(
  network: MemoryNetwork,
  index: number,
  genesis: Genesis,
  storage?: NodeStorage,
  init: Omit<NodeInit, 'genesis'> = {},
  logger?: Logger,
): Promise<{ node: SynodNode; storage: NodeStorage }> {
  const store = storage ?? (await createMemoryNodeStorage());
  const key = VALIDATORS[index] as KeyPair;
  const node = createNode(
    {
      storage: store,
      application: await Ledger.open({ kv: store.state.appState }),
      transport: network.transport(`v${index}`),
      clock: wallClock,
      signer: await createSigner(key.seed, store.signerState),
      ...(logger === undefined ? {} : { logger }),
    },
    { ...init, genesis },
  );
  return { node, storage: store };
}

/**
 * A node without a signer (it follows the chain) over `network` as peer `name`
 * (memory storage unless given), the ledger as its application.
 */
export async function followerNode(
  network: MemoryNetwork,
  name: string,
  genesis: Genesis,
  options: {
    readonly storage?: NodeStorage;
    readonly init?: Omit<NodeInit, 'genesis'>;
  } = {},
): Promise<{ node: SynodNode; storage: NodeStorage }> {
  const storage = options.storage ?? (await createMemoryNodeStorage());
  const node = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState }),
      transport: network.transport(name),
      clock: wallClock,
      signer: null,
    },
    { ...options.init, genesis },
  );
  return { node, storage };
}

/** A logger that keeps every line (level, message, context), for tests of what is logged. */
export function recordingLogger(): Logger & {
  readonly lines: { level: string; msg: string; ctx: LogContext }[];
} {
  const lines: { level: string; msg: string; ctx: LogContext }[] = [];
  const make = (bindings: LogContext): Logger => {
    const at =
      (level: string) =>
      (msg: string, ctx: LogContext = {}): void => {
        lines.push({ level, msg, ctx: { ...bindings, ...ctx } });
      };
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { lines });
}

/** Resolves once `node` has executed `height`. */
export function heightReached(node: SynodNode, height: number): Promise<void> {
  if (node.status().height >= height) return Promise.resolve();
  return new Promise((resolve) => {
    const off = node.on('block', (e) => {
      if (e.height >= height) {
        off();
        resolve();
      }
    });
  });
}
