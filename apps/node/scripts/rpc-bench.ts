/**
 * The RPC of a real synodd process under load (build first: pnpm
 * --filter @synod/node-daemon build): requests per second and latency of
 * `status` and `broadcast_tx_sync` at 100 concurrent keep-alive HTTP clients.
 * One validator from `synodd testnet` (default config, 200 funded accounts);
 * the load comes from a worker thread of this process (@synod/rpc's bench
 * load generator), the node runs in its own. broadcast_tx_sync sends distinct
 * signed transfers (two accounts per client, nonces in order); the script
 * then waits for every one to be committed and indexed. Prints numbers;
 * asserts nothing.
 *
 *   pnpm --filter @synod/node-daemon bench:rpc [--status 20000] [--txs-per-client 40]
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { addressFromPublicKey, type KeyPair, readKeyFile, sign } from '@synod/crypto';
import { DEFAULT_MIN_FEE } from '@synod/ledger';
import { encodeTx, type TxBody, txSignBytes } from '@synod/types';
import {
  freeBasePort,
  heightOf,
  NodeProcess,
  rpc,
  type Status,
  synodd,
  tempDir,
  waitForStatus,
} from '../test/e2e/harness.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const CLIENTS = 100;
const ACCOUNTS_PER_CLIENT = 2;
const STATUS_REQUESTS = arg('status', 20_000);
const TXS_PER_CLIENT = arg('txs-per-client', 40);
const CHAIN_ID = 'rpc-bench';

interface LoadResult {
  latencies: Float64Array;
  elapsedMs: number;
  errors: [string, number][];
}

/** `bodies[c]` sent one after another by client c, all clients at once. */
function load(port: number, bodies: string[][]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../../../packages/rpc/bench/load-worker.mjs', import.meta.url), {
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

function transferBody(from: KeyPair, nonce: number, to: Uint8Array, id: number): string {
  const body: TxBody = {
    chainId: CHAIN_ID,
    sender: from.publicKey,
    nonce,
    fee: DEFAULT_MIN_FEE,
    gasLimit: 10_000,
    msg: { kind: 'transfer', to, amount: 1n },
    memo: new Uint8Array(0),
  };
  const tx = encodeTx({ body, signature: sign(from, txSignBytes(CHAIN_ID, body)) });
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'broadcast_tx_sync',
    params: { tx: Buffer.from(tx).toString('base64') },
  });
}

const dir = await tempDir('synodd-rpc-bench-');
let node: NodeProcess | undefined;
try {
  const base = await freeBasePort(1);
  const out = join(dir.path, 'net');
  const accounts = CLIENTS * ACCOUNTS_PER_CLIENT;
  const made = await synodd([
    'testnet',
    '--validators',
    '1',
    '--accounts',
    String(accounts),
    '--chain-id',
    CHAIN_ID,
    '--base-port',
    String(base),
    '--out',
    out,
  ]);
  if (made.code !== 0) throw new Error(made.stderr);
  const keys = await Promise.all(
    Array.from(
      { length: accounts },
      async (_, i) => (await readKeyFile(join(out, 'keys', `account${i}.json`))).keyPair,
    ),
  );
  const port = base + 1;
  node = new NodeProcess(['--home', join(out, 'node0'), '--log_level', 'warn']);
  await waitForStatus(port, (s) => heightOf(s) >= 2, 30_000);
  const cpu = cpus();
  console.log(
    `machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; one synodd validator (default config), ${CLIENTS} concurrent keep-alive HTTP clients in a worker thread of the bench process`,
  );

  const statusBodies = Array.from({ length: CLIENTS }, (_, c) =>
    Array.from({ length: Math.ceil(STATUS_REQUESTS / CLIENTS) }, (_, i) =>
      JSON.stringify({ jsonrpc: '2.0', id: c * 1_000_000 + i, method: 'status' }),
    ),
  );
  console.log(report('status', await load(port, statusBodies)));

  const perAccount = Math.ceil(TXS_PER_CLIENT / ACCOUNTS_PER_CLIENT);
  const sink = addressFromPublicKey((keys[0] as KeyPair).publicKey);
  const txBodies = Array.from({ length: CLIENTS }, (_, c) => {
    const list: string[] = [];
    for (let n = 0; n < perAccount; n++)
      for (let a = 0; a < ACCOUNTS_PER_CLIENT; a++)
        list.push(transferBody(keys[c * ACCOUNTS_PER_CLIENT + a] as KeyPair, n, sink, c * 1_000_000 + n));
    return list;
  });
  const before = heightOf(await rpc<Status>(port, 'status'));
  console.log(report('broadcast_tx_sync', await load(port, txBodies)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const pending = await rpc<{ total: string }>(port, 'num_unconfirmed_txs');
    if (pending.total === '0' || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = heightOf(await rpc<Status>(port, 'status'));
  const indexed = await rpc<{ total_count: string }>(port, 'tx_search', {
    query: `tx.height > ${before}`,
    per_page: '1',
  });
  console.log(
    `committed: heights ${before + 1}..${after}; ${indexed.total_count} transactions indexed (of ${CLIENTS * perAccount * ACCOUNTS_PER_CLIENT} sent)`,
  );
  const stop = await node.stop('SIGTERM');
  console.log(`SIGTERM to exit: ${stop.ms.toFixed(0)} ms, exit code ${stop.code}`);
} finally {
  if (node !== undefined && node.child.exitCode === null && node.child.signalCode === null)
    node.child.kill('SIGKILL');
  await dir.remove();
}
