/**
 * Requests per second and latency of `status` and `broadcast_tx_sync` at 100
 * concurrent HTTP clients (keep-alive), against a real node served by the
 * RPC: one validator (@synod/node over its memory transport, memory storage,
 * @synod/ledger), the server on 127.0.0.1, the load from a worker thread of
 * the same process (so client and server share the machine's cores).
 *
 *   pnpm --filter @synod/rpc bench [statusRequests] [txsPerClient]
 *
 * broadcast_tx_sync sends distinct signed transfers: each client has two
 * accounts of its own and sends their nonces in order.
 */
import '@synod/polyfills';
import { cpus, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign } from '@synod/crypto';
import { Ledger, ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import { createNode, MemoryNetwork } from '@synod/node';
import { createMemoryNodeStorage, createSigner, prefixedKvStore } from '@synod/storage';
import {
  type Clock,
  DEFAULT_CONSENSUS_PARAMS,
  encodeTx,
  type Genesis,
  type TxBody,
  txSignBytes,
} from '@synod/types';
import { createRpcServer } from '../src/index.js';

const CLIENTS = 100;
const STATUS_REQUESTS = Number(process.argv[2] ?? 20_000);
const TXS_PER_CLIENT = Number(process.argv[3] ?? 40);
const ACCOUNTS_PER_CLIENT = 2;
const CHAIN_ID = 'rpc-bench';

const clock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};
const keyOf = (tag: number, i: number): KeyPair => {
  const seed = new Uint8Array(32);
  seed[0] = tag;
  new DataView(seed.buffer).setUint32(1, i);
  return keyPairFromSeed(seed);
};

const validator = keyOf(0x76, 0);
const accounts = Array.from({ length: CLIENTS * ACCOUNTS_PER_CLIENT }, (_, i) => keyOf(0x61, i));
const genesis: Genesis = {
  chainId: CHAIN_ID,
  genesisTimeMs: Date.now(),
  initialHeight: 1,
  consensusParams: {
    ...DEFAULT_CONSENSUS_PARAMS,
    timeouts: { ...DEFAULT_CONSENSUS_PARAMS.timeouts, commitMs: 100 },
  },
  validators: [{ name: 'v0', pubKey: validator.publicKey, power: 10 }],
  appState: ledgerAppState({
    minFee: 10n,
    accounts: accounts.map((a) => ({ address: addressFromPublicKey(a.publicKey), balance: 1_000_000_000n })),
    validators: [{ pubKey: validator.publicKey, stake: 10n * POWER_REDUCTION }],
  }),
};

function transferBody(from: KeyPair, nonce: number): string {
  const body: TxBody = {
    chainId: CHAIN_ID,
    sender: from.publicKey,
    nonce,
    fee: 10n,
    gasLimit: 10_000,
    msg: { kind: 'transfer', to: addressFromPublicKey(validator.publicKey), amount: 1n },
    memo: new Uint8Array(0),
  };
  const tx = encodeTx({ body, signature: sign(from, txSignBytes(CHAIN_ID, body)) });
  return JSON.stringify({
    jsonrpc: '2.0',
    id: nonce,
    method: 'broadcast_tx_sync',
    params: { tx: Buffer.from(tx).toString('base64') },
  });
}

interface LoadResult {
  latencies: Float64Array;
  elapsedMs: number;
  errors: [string, number][];
}

function load(port: number, bodies: string[][]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
      workerData: { port, clients: bodies.length, bodies },
    });
    worker.once('message', (m: LoadResult) => resolve(m));
    worker.once('error', reject);
  });
}

function report(name: string, r: LoadResult): string {
  const sorted = Float64Array.from(r.latencies).sort();
  const q = (p: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(1);
  const rps = Math.round((sorted.length / r.elapsedMs) * 1000);
  const errors = r.errors.length === 0 ? 'none' : r.errors.map(([k, v]) => `${k} ×${v}`).join(', ');
  return `${name.padEnd(18)} ${String(sorted.length).padStart(6)} requests  ${String(rps).padStart(6)} req/s  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  max ${q(1)} ms  errors: ${errors}`;
}

const storage = await createMemoryNodeStorage();
const ledger = await Ledger.open({ kv: storage.state.appState });
const node = createNode(
  {
    storage,
    application: ledger,
    transport: new MemoryNetwork().transport('v0'),
    clock,
    signer: await createSigner(validator.seed, storage.signerState),
  },
  { genesis, livenessIntervalMs: 0, mempool: { maxTxs: 20_000 } },
);
const rpc = createRpcServer(
  {
    node,
    storage,
    application: ledger,
    genesis,
    store: prefixedKvStore(storage.kv, Uint8Array.of(0x40)),
    nodeInfo: {
      nodeKey: keyOf(0x6e, 0).publicKey,
      moniker: 'bench',
      listenAddr: 'tcp://127.0.0.1:26656',
      version: '0.1.0',
      p2pProtocolVersion: 1,
      validatorPubKey: validator.publicKey,
    },
  },
  { rpc: { laddr: 'tcp://127.0.0.1:0', max_open_connections: 0 } },
);
await rpc.listen();
await node.start();
const { port } = rpc.address();
while (node.status().height < 2) await new Promise((r) => setTimeout(r, 20));

const cpu = cpus();
console.log(
  `machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ${CLIENTS} concurrent keep-alive HTTP clients in a worker thread of the same process`,
);

const statusBodies = Array.from({ length: CLIENTS }, (_, c) =>
  Array.from({ length: Math.ceil(STATUS_REQUESTS / CLIENTS) }, (_, i) =>
    JSON.stringify({ jsonrpc: '2.0', id: c * 1_000_000 + i, method: 'status' }),
  ),
);
console.log(report('status', await load(port, statusBodies)));

const perAccount = Math.ceil(TXS_PER_CLIENT / ACCOUNTS_PER_CLIENT);
const txBodies = Array.from({ length: CLIENTS }, (_, c) => {
  const out: string[] = [];
  for (let n = 0; n < perAccount; n++)
    for (let a = 0; a < ACCOUNTS_PER_CLIENT; a++)
      out.push(transferBody(accounts[c * ACCOUNTS_PER_CLIENT + a] as KeyPair, n));
  return out;
});
const heightBefore = node.status().height;
console.log(report('broadcast_tx_sync', await load(port, txBodies)));
const deadline = Date.now() + 60_000;
while (node.status().mempoolTxs > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
await rpc.idle();
const s = node.status();
console.log(
  `committed: heights ${heightBefore + 1}..${s.height}, mempool ${s.mempoolTxs} pending, indexed: ${
    (
      (await (
        await fetch(`http://127.0.0.1:${port}/tx_search?query="tx.height>${heightBefore}"&per_page=1`)
      ).json()) as {
        result: { total_count: string };
      }
    ).result.total_count
  } transactions`,
);

await rpc.close();
await node.stop();
await storage.close();
