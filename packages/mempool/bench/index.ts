/**
 * Mempool benchmarks with a fake, fast checkTx (decodes a fixed header):
 *   - insert/s while filling an empty pool to 10k and 100k pending txs,
 *   - insert/s into a full pool of 10k / 100k (every insert evicts the lowest),
 *   - reap time for a 4 MiB / 100M gas block with 10k and 100k pending,
 *   - update time (commit that block, re-check the rest) with 10k and 100k pending,
 *   - heap bytes per pending tx (heapUsed delta after global.gc(); needs --expose-gc).
 * Run: pnpm --filter @synod/mempool bench
 */
import type { CheckTxResult } from '@synod/types';
import type { UpdateResult } from '../src/index.js';
import { Mempool } from '../src/index.js';

const TX_BYTES = 250;
const TXS_PER_SENDER = 10;
const BLOCK = { maxBytes: 4 * 1024 * 1024, maxGas: 100_000_000 } as const;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const senders: Uint8Array[] = [];
function senderAddress(id: number): Uint8Array {
  let a = senders[id];
  if (a === undefined) {
    a = new Uint8Array(20);
    new DataView(a.buffer).setUint32(16, id);
    senders[id] = a;
  }
  return a;
}

/** [0..4) sender, [4..8) nonce, [8..16) priority, [16..20) gas, [20..24) unique id, then padding. */
function makeTxs(count: number, seed: number, senderBase: number, priorityFloor: number): Uint8Array[] {
  const rnd = lcg(seed);
  const out: Uint8Array[] = [];
  const senderCount = Math.ceil(count / TXS_PER_SENDER);
  for (let i = 0; i < count; i++) {
    const tx = new Uint8Array(TX_BYTES);
    const v = new DataView(tx.buffer);
    const s = i % senderCount;
    v.setUint32(0, senderBase + s);
    v.setUint32(4, Math.floor(i / senderCount));
    v.setBigUint64(8, BigInt(priorityFloor + Math.floor(rnd() * 1_000_000)));
    v.setUint32(16, 1_000);
    v.setUint32(20, seed * 10_000_000 + i);
    out.push(tx);
  }
  return out;
}

const checkTx = async (tx: Uint8Array): Promise<CheckTxResult> => {
  const v = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  return {
    code: 'OK',
    log: '',
    sender: senderAddress(v.getUint32(0)),
    nonce: v.getUint32(4),
    priority: v.getBigUint64(8),
    gasWanted: v.getUint32(16),
  };
};

/** Wall-clock and process CPU (user) time of `fn`, in ms. CPU time is steadier on a busy machine. */
interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  return { wallMs: performance.now() - t0, cpuMs: process.cpuUsage(c0).user / 1000 };
}

function fill(pool: Mempool, txs: readonly Uint8Array[]): Promise<Timing> {
  return timed(async () => {
    for (const tx of txs) {
      const res = await pool.add(tx);
      if (!res.accepted && res.code !== 'MEMPOOL_FULL') throw new Error(`unexpected rejection ${res.code}`);
    }
  });
}

function gc(): boolean {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) return false;
  g();
  g();
  return true;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const RUNS = 3;

async function benchSize(n: number): Promise<void> {
  const opts = { maxTxs: n, maxBytes: n * TX_BYTES, cacheSize: 4 * n, ttlBlocks: 0 };
  const txs = makeTxs(n, 1, 0, 0);
  const extra = makeTxs(Math.min(n, 20_000), 2, 10_000_000, 1_000_000);
  console.log(
    `\n== ${fmt(n)} pending txs (${TX_BYTES} B each, ${TXS_PER_SENDER} per sender; median of ${RUNS} runs) ==`,
  );

  // Memory on a fresh heap: the txs are allocated before the baseline, so the
  // delta is the pool's own overhead (entries, indexes, hash keys, seen-cache).
  let memLine = 'memory: run with --expose-gc to measure';
  if (gc()) {
    const before = process.memoryUsage();
    const pool = new Mempool({ checkTx }, opts);
    await fill(pool, txs);
    gc();
    const after = process.memoryUsage();
    const heap = (after.heapUsed - before.heapUsed) / pool.size;
    const ext = (after.arrayBuffers - before.arrayBuffers) / pool.size;
    memLine =
      `memory: ${fmt(heap)} B/pending tx of heap overhead (+${fmt(ext)} B array buffers; ` +
      `the ${TX_BYTES} B tx itself is shared with the caller) → ~${fmt(heap + ext + TX_BYTES)} B/pending tx in total`;
  }

  const fillTimes: Timing[] = [];
  const fullTimes: Timing[] = [];
  let pool = new Mempool({ checkTx }, opts);
  for (let r = 0; r < RUNS; r++) {
    pool = new Mempool({ checkTx }, opts);
    fillTimes.push(await fill(pool, txs));
    if (pool.size !== n) throw new Error(`expected ${n} pending, got ${pool.size}`);
    // Into a full pool: higher priorities, so each insert evicts the lowest.
    fullTimes.push(await fill(pool, extra));
  }
  const rate = (count: number, ts: readonly Timing[]) =>
    `${fmt((count * 1000) / median(ts.map((t) => t.wallMs)))} tx/s (by CPU time: ${fmt((count * 1000) / median(ts.map((t) => t.cpuMs)))} tx/s)`;
  console.log(`insert, filling 0 → ${fmt(n)}: ${rate(n, fillTimes)}`);
  console.log(
    `insert at ${fmt(n)} pending (pool full, each evicts the lowest): ${rate(extra.length, fullTimes)}`,
  );

  // Reap a 4 MiB block.
  const reapTimes: Timing[] = [];
  let reaped: Uint8Array[] = [];
  for (let i = 0; i < 21; i++) {
    reapTimes.push(
      await timed(() => {
        reaped = pool.reap(BLOCK);
      }),
    );
  }
  const reapedBytes = reaped.reduce((s, tx) => s + tx.byteLength, 0);
  console.log(
    `reap 4 MiB block at ${fmt(n)} pending: ${fmt(median(reapTimes.map((t) => t.wallMs)), 2)} ms ` +
      `(CPU ${fmt(median(reapTimes.map((t) => t.cpuMs)), 2)} ms; ${fmt(reaped.length)} txs, ${fmt(reapedBytes)} B)`,
  );

  // Commit that block and re-check the rest.
  let res: UpdateResult | undefined;
  const up = await timed(async () => {
    res = await pool.update(1, reaped);
  });
  console.log(
    `update (remove ${fmt(res?.committed ?? 0)} committed, recheck ${fmt(res?.rechecked ?? 0)}): ` +
      `${fmt(up.wallMs, 1)} ms (CPU ${fmt(up.cpuMs, 1)} ms)`,
  );
  console.log(memLine);
}

async function main(): Promise<void> {
  console.log(`@synod/mempool bench — node ${process.version}`);
  // Warm up the JIT so the 10k numbers are not mostly compilation.
  const warm = new Mempool({ checkTx }, { maxTxs: 20_000, maxBytes: 20_000 * TX_BYTES, ttlBlocks: 0 });
  await fill(warm, makeTxs(20_000, 9, 50_000_000, 0));
  warm.reap(BLOCK);
  await warm.update(1, warm.reap(BLOCK));
  await benchSize(10_000);
  await benchSize(100_000);
}

await main();
