import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign } from '@synod/crypto';
import { createMemoryKvStore, type KvStore } from '@synod/storage';
import {
  type ConsensusParams,
  DEFAULT_CONSENSUS_PARAMS,
  encodeTx,
  type FinalizeBlockResponse,
  type InitChainRequest,
  type Misbehavior,
  type TxBody,
  type TxMsg,
  txSignBytes,
} from '@synod/types';
import { Ledger, type LedgerAppStateInput, type LedgerOptions, ledgerAppState } from '../src/index.js';

export const CHAIN_ID = 'synod-test';
export const GENESIS_TIME_MS = 1_700_000_000_000;
export const BLOCK_MS = 1_000;
export const MIN_FEE = 1_000n;
export const GAS = 100_000;

export function key(i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = 0xa5;
  seed[1] = i & 0xff;
  seed[2] = (i >> 8) & 0xff;
  return keyPairFromSeed(seed);
}

export const addr = (k: KeyPair): Uint8Array => addressFromPublicKey(k.publicKey);

export interface TxOpts {
  readonly nonce: number;
  readonly fee?: bigint;
  readonly gasLimit?: number;
  readonly chainId?: string;
  readonly memo?: Uint8Array;
}

export function signedTx(k: KeyPair, msg: TxMsg, o: TxOpts): Uint8Array {
  const body: TxBody = {
    chainId: o.chainId ?? CHAIN_ID,
    sender: k.publicKey,
    nonce: o.nonce,
    fee: o.fee ?? MIN_FEE,
    gasLimit: o.gasLimit ?? GAS,
    msg,
    memo: o.memo ?? new Uint8Array(0),
  };
  return encodeTx({ body, signature: sign(k, txSignBytes(body.chainId, body)) });
}

export const transfer = (k: KeyPair, to: Uint8Array, amount: bigint, o: TxOpts): Uint8Array =>
  signedTx(k, { kind: 'transfer', to, amount }, o);
export const bond = (k: KeyPair, validatorPubKey: Uint8Array, amount: bigint, o: TxOpts): Uint8Array =>
  signedTx(k, { kind: 'bond', validatorPubKey, amount }, o);
export const unbond = (k: KeyPair, validatorPubKey: Uint8Array, amount: bigint, o: TxOpts): Uint8Array =>
  signedTx(k, { kind: 'unbond', validatorPubKey, amount }, o);
export const unjailTx = (k: KeyPair, validatorPubKey: Uint8Array, o: TxOpts): Uint8Array =>
  signedTx(k, { kind: 'unjail', validatorPubKey }, o);

/** Validators 100..103 (keys), operators 0..3, users 10.. */
export const VALIDATOR_KEYS = [key(100), key(101), key(102), key(103)];
export const OPERATORS = [key(0), key(1), key(2), key(3)];

export const TEST_PARAMS: ConsensusParams = {
  ...DEFAULT_CONSENSUS_PARAMS,
  staking: { unbondingBlocks: 3, maxValidators: 10 },
  slashing: {
    ...DEFAULT_CONSENSUS_PARAMS.slashing,
    doubleSignSlashPpm: 50_000,
    downtimeJailDurationMs: 10_000,
  },
};

export function genesisRequest(
  over: Partial<InitChainRequest> & { app?: LedgerAppStateInput } = {},
): InitChainRequest {
  const app: LedgerAppStateInput = over.app ?? {
    minFee: MIN_FEE,
    accounts: [...OPERATORS, key(10), key(11), key(12)].map((k) => ({
      address: addr(k),
      balance: 1_000_000_000n,
    })),
    validators: VALIDATOR_KEYS.map((v, i) => ({
      pubKey: v.publicKey,
      stake: BigInt(10 + i) * 1_000_000n,
      operator: addr(OPERATORS[i] as KeyPair),
    })),
  };
  return {
    chainId: CHAIN_ID,
    genesisTimeMs: GENESIS_TIME_MS,
    initialHeight: 1,
    consensusParams: TEST_PARAMS,
    validators: VALIDATOR_KEYS.map((v) => ({ pubKey: v.publicKey, power: 10 })),
    appState: ledgerAppState(app),
    ...over,
  };
}

export async function openLedger(
  options: Partial<LedgerOptions> = {},
  init: InitChainRequest | null = genesisRequest(),
): Promise<{ ledger: Ledger; kv: KvStore }> {
  const kv = options.kv ?? (await createMemoryKvStore());
  const ledger = await Ledger.open({ ...options, kv });
  if (init !== null) await ledger.initChain(init);
  return { ledger, kv };
}

export interface BlockOpts {
  readonly proposer?: Uint8Array;
  readonly misbehavior?: readonly Misbehavior[];
  readonly timeMs?: number;
}

/** Finalizes and commits the next block. */
export async function runBlock(
  ledger: Ledger,
  txs: readonly Uint8Array[],
  o: BlockOpts = {},
): Promise<FinalizeBlockResponse> {
  const info = await ledger.info();
  const height = info.lastBlockHeight + 1;
  const res = await ledger.finalizeBlock({
    height,
    timeMs: o.timeMs ?? GENESIS_TIME_MS + height * BLOCK_MS,
    hash: new Uint8Array(32).fill(height & 0xff),
    proposerAddress: o.proposer ?? addressFromPublicKey((VALIDATOR_KEYS[0] as KeyPair).publicKey),
    txs,
    misbehavior: o.misbehavior ?? [],
    decidedLastCommit: { round: 0, votes: [] },
  });
  await ledger.commit();
  return res;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export async function queryJson<T>(
  ledger: Ledger,
  path: string,
  data: Uint8Array,
  height?: number,
): Promise<{ code: string; log: string; height: number; value: T }> {
  const r = await ledger.query(height === undefined ? { path, data } : { path, data, height });
  const text = new TextDecoder().decode(r.value);
  return {
    code: r.code,
    log: r.log,
    height: r.height,
    value: (text.length === 0 ? undefined : JSON.parse(text)) as T,
  };
}
