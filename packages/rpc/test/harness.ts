/**
 * A real node served by the RPC: one validator (createNode of @synod/node
 * over its MemoryNetwork transport, memory storage, @synod/ledger), the RPC
 * server on 127.0.0.1 port 0, its store a prefixed view of the node's
 * database (as the daemon gives it).
 */
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign, toHex } from '@synod/crypto';
import { Ledger, ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import { createNode, MemoryNetwork, type SynodNode } from '@synod/node';
import { createMemoryNodeStorage, createSigner, type NodeStorage, prefixedKvStore } from '@synod/storage';
import {
  type Clock,
  DEFAULT_CONSENSUS_PARAMS,
  encodeTx,
  type Genesis,
  type TxBody,
  type TxMsg,
  txSignBytes,
} from '@synod/types';
import {
  createRpcServer,
  type IndexedBlock,
  type RpcComponents,
  type RpcInit,
  type RpcServer,
} from '../src/index.js';

export const CHAIN_ID = 'rpc-test';
export const MIN_FEE = 10n;
export const RPC_STORE_PREFIX = Uint8Array.of(0x40);

const key = (tag: number, i: number): KeyPair => {
  const seed = new Uint8Array(32);
  seed[0] = tag;
  seed[1] = i;
  return keyPairFromSeed(seed);
};

export const VALIDATOR = key(0x76, 0);
export const NODE_KEY = key(0x6e, 0);
export const ACCOUNTS = [0, 1, 2, 3].map((i) => key(0x61, i));
export const address = (k: KeyPair): Uint8Array => addressFromPublicKey(k.publicKey);
export const BALANCE = 1_000_000_000n;

export const wallClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export function testGenesis(commitMs: number): Genesis {
  return {
    chainId: CHAIN_ID,
    genesisTimeMs: Date.now() - 1000,
    initialHeight: 1,
    consensusParams: {
      ...DEFAULT_CONSENSUS_PARAMS,
      timeouts: { ...DEFAULT_CONSENSUS_PARAMS.timeouts, commitMs, proposeMs: 300 },
    },
    validators: [{ name: 'v0', pubKey: VALIDATOR.publicKey, power: 10 }],
    appState: ledgerAppState({
      minFee: MIN_FEE,
      accounts: ACCOUNTS.map((a) => ({ address: address(a), balance: BALANCE })),
      validators: [{ pubKey: VALIDATOR.publicKey, stake: 10n * POWER_REDUCTION }],
    }),
  };
}

/** A signed ledger transaction of `from` at `nonce`. */
export function signedTx(
  from: KeyPair,
  nonce: number,
  msg: TxMsg,
  fee = MIN_FEE,
  gasLimit = 10_000,
): Uint8Array {
  const body: TxBody = {
    chainId: CHAIN_ID,
    sender: from.publicKey,
    nonce,
    fee,
    gasLimit,
    msg,
    memo: new Uint8Array(0),
  };
  return encodeTx({ body, signature: sign(from, txSignBytes(CHAIN_ID, body)) });
}

/** A signed transfer of `amount` from `from` to `to`. */
export function transfer(from: KeyPair, nonce: number, to: KeyPair, amount = 1n): Uint8Array {
  return signedTx(from, nonce, { kind: 'transfer', to: address(to), amount });
}

export interface TestChain {
  readonly node: SynodNode;
  readonly storage: NodeStorage;
  readonly ledger: Ledger;
  readonly genesis: Genesis;
  readonly rpc: RpcServer;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `ws://127.0.0.1:PORT` */
  readonly wsUrl: string;
  /** Resolves once the node has executed `height` (and the RPC indexed it). */
  waitForHeight(height: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface TestChainOptions {
  readonly init?: RpcInit;
  /** Wait after each decision (ms). @default 100 */
  readonly commitMs?: number;
  /** The `dialPeers` component (`dial_seeds`, `dial_peers`). */
  readonly dialPeers?: RpcComponents['dialPeers'];
}

export async function startChain(options: TestChainOptions = {}): Promise<TestChain> {
  const genesis = testGenesis(options.commitMs ?? 100);
  const storage = await createMemoryNodeStorage();
  const ledger = await Ledger.open({ kv: storage.state.appState });
  const transport = new MemoryNetwork().transport('v0');
  const signer = await createSigner(VALIDATOR.seed, storage.signerState);
  const node = createNode(
    { storage, application: ledger, transport, clock: wallClock, signer },
    { genesis, livenessIntervalMs: 0 },
  );
  const rpc = createRpcServer(
    {
      node,
      ...(options.dialPeers === undefined ? {} : { dialPeers: options.dialPeers }),
      storage,
      application: ledger,
      genesis,
      store: prefixedKvStore(storage.kv, RPC_STORE_PREFIX),
      nodeInfo: {
        nodeKey: NODE_KEY.publicKey,
        moniker: 'test-node',
        listenAddr: 'tcp://127.0.0.1:26656',
        version: '0.1.0',
        p2pProtocolVersion: 1,
        validatorPubKey: VALIDATOR.publicKey,
      },
    },
    { ...options.init, rpc: { laddr: 'tcp://127.0.0.1:0', ...options.init?.rpc } },
  );
  await rpc.listen();
  await node.start();
  const { port } = rpc.address();
  const waitForHeight = async (height: number, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (node.status().height < height) {
      if (Date.now() > deadline) throw new Error(`height ${height} not reached (at ${node.status().height})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await rpc.idle();
  };
  return {
    node,
    storage,
    ledger,
    genesis,
    rpc,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    waitForHeight,
    async stop() {
      await rpc.close();
      await node.stop();
      await storage.close();
    },
  };
}

/** Resolves once `condition()` holds (polled every 5 ms), or rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** POSTs a JSON-RPC body (any text) and returns the HTTP status and parsed body (or text). */
export async function post(
  url: string,
  body: string,
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Calls a method over HTTP POST and returns the JSON-RPC response. */
export async function call(url: string, method: string, params: unknown = {}, id: number | string = 1) {
  const { json } = await post(url, JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  return json as {
    id: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: string };
  };
}

/**
 * A block of transfers as the indexer takes it: each transaction's result has
 * a fee event (paid by account 0) and a transfer event (from account 0 or 1,
 * alternately, to account 2, of `amounts[i]`).
 */
export function indexedTransfers(height: number, txs: Uint8Array[], amounts: bigint[]): IndexedBlock {
  const hexOf = (k: KeyPair): string => toHex(address(k));
  const [a, b, c] = [ACCOUNTS[0] as KeyPair, ACCOUNTS[1] as KeyPair, ACCOUNTS[2] as KeyPair];
  return {
    height,
    txs,
    txResults: txs.map((_, i): IndexedBlock['txResults'][number] => ({
      code: 'OK',
      log: '',
      gasUsed: 1000 + i,
      events: [
        { type: 'fee', attributes: { payer: hexOf(a), amount: '10' } },
        {
          type: 'transfer',
          attributes: { from: i % 2 === 0 ? hexOf(a) : hexOf(b), to: hexOf(c), amount: String(amounts[i]) },
        },
      ],
    })),
    validatorUpdates: [],
    appHash: new Uint8Array(32).fill(height),
  };
}
