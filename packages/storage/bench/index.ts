/**
 * Storage benchmarks: block store write / read throughput on LevelDB and
 * consensus WAL append latency with fsync. Run with `pnpm bench`.
 * Numbers depend on the disk; they are printed, never asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBlock } from '@synod/types';
import {
  BlockStore,
  createSigner,
  FileSignerStateStore,
  openFileWal,
  openLevelKvStore,
} from '../src/index.js';
import { makeChain } from '../test/fixtures.js';

const BLOCKS = Number(process.env.SYNOD_BENCH_BLOCKS ?? 1000);
const TXS_PER_BLOCK = 100;
const TX_BYTES = 250;
const WAL_APPENDS = Number(process.env.SYNOD_BENCH_WAL_APPENDS ?? 1000);

type Row = [string, string, string];
const rows: Row[] = [];
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function latencyRow(name: string, samplesMs: number[]): void {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  rows.push([
    name,
    `p50 ${fmt(percentile(sorted, 50) * 1000)} µs, p99 ${fmt(percentile(sorted, 99) * 1000)} µs`,
    `${fmt(samplesMs.length)} ops, max ${fmt(sorted.at(-1)! * 1000)} µs`,
  ]);
}

function shuffle<T>(items: T[]): T[] {
  let seed = 12345;
  for (let i = items.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function benchBlockStore(root: string, syncWrites: boolean): Promise<void> {
  const chain = makeChain(1, BLOCKS, { txsPerBlock: TXS_PER_BLOCK, txBytes: TX_BYTES });
  const blockBytes = chain.reduce((sum, { block }) => sum + encodeBlock(block).length, 0);
  const kv = await openLevelKvStore(join(root, `blocks-${syncWrites ? 'sync' : 'nosync'}`));
  const store = await BlockStore.open(kv, { syncWrites });
  const label = syncWrites ? 'fsync each block' : 'no fsync';

  let t0 = performance.now();
  for (const { block, seenCommit } of chain) await store.saveBlock(block, seenCommit);
  let seconds = (performance.now() - t0) / 1000;
  rows.push([
    `block store write (${label})`,
    `${fmt(BLOCKS / seconds)} blocks/s, ${fmt(blockBytes / seconds / 1e6, 1)} MB/s`,
    `${fmt(BLOCKS)} blocks × ${TXS_PER_BLOCK} txs × ${TX_BYTES} B (${fmt(blockBytes / BLOCKS / 1024, 1)} KiB each)`,
  ]);

  if (syncWrites) {
    const order = shuffle(Array.from({ length: BLOCKS }, (_, i) => i + 1));
    t0 = performance.now();
    for (const h of order) await store.loadBlock(h);
    seconds = (performance.now() - t0) / 1000;
    rows.push([
      'block store read + decode (random order)',
      `${fmt(BLOCKS / seconds)} blocks/s, ${fmt(blockBytes / seconds / 1e6, 1)} MB/s`,
      'loadBlock',
    ]);
    t0 = performance.now();
    for (const h of order) await store.loadBlockBytes(h);
    seconds = (performance.now() - t0) / 1000;
    rows.push([
      'block store read raw bytes (random order)',
      `${fmt(BLOCKS / seconds)} blocks/s, ${fmt(blockBytes / seconds / 1e6, 1)} MB/s`,
      'loadBlockBytes (for serving block sync)',
    ]);
    await kv.compact();
    rows.push([
      'block store disk usage',
      `${fmt((await store.diskUsage()) / 1e6, 1)} MB`,
      'after compaction',
    ]);
  }
  await kv.close();
}

async function benchWal(root: string): Promise<void> {
  const wal = await openFileWal(join(root, 'wal'));
  const record = new Uint8Array(200).fill(7); // about a signed vote
  const samples: number[] = [];
  for (let i = 0; i < WAL_APPENDS; i++) {
    const t0 = performance.now();
    await wal.append(record, { sync: true });
    samples.push(performance.now() - t0);
  }
  latencyRow('WAL append 200 B + fsync (sequential)', samples);

  const buffered: number[] = [];
  for (let i = 0; i < WAL_APPENDS; i++) {
    const t0 = performance.now();
    await wal.append(record);
    buffered.push(performance.now() - t0);
  }
  latencyRow('WAL append 200 B, no fsync (buffered)', buffered);

  const concurrent = 64;
  const rounds = Math.max(1, Math.floor(WAL_APPENDS / concurrent));
  const before = wal.stats().fsyncs;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    await Promise.all(Array.from({ length: concurrent }, () => wal.append(record, { sync: true })));
  }
  const seconds = (performance.now() - t0) / 1000;
  rows.push([
    `WAL group commit (${concurrent} concurrent sync appends)`,
    `${fmt((rounds * concurrent) / seconds)} appends/s`,
    `${fmt(wal.stats().fsyncs - before)} fsyncs for ${fmt(rounds * concurrent)} appends`,
  ]);
  await wal.close();
}

async function benchSigner(root: string): Promise<void> {
  const signer = await createSigner(
    new Uint8Array(32).fill(1),
    new FileSignerStateStore(join(root, 'signer.json')),
  );
  const samples: number[] = [];
  const n = Math.min(WAL_APPENDS, 500);
  for (let h = 1; h <= n; h++) {
    const t0 = performance.now();
    await signer.sign({
      height: h,
      round: 0,
      step: 'prevote',
      signBytes: new Uint8Array(120).fill(h & 0xff),
    });
    samples.push(performance.now() - t0);
  }
  latencyRow('signer sign + persist state (one slot written in place + fdatasync)', samples);
}

const root = await mkdtemp(join(process.env.SYNOD_BENCH_DIR ?? tmpdir(), 'synod-storage-bench-'));
try {
  await benchBlockStore(root, true);
  await benchBlockStore(root, false);
  await benchWal(root);
  await benchSigner(root);
} finally {
  await rm(root, { recursive: true, force: true });
}

const widths = [0, 1, 2].map((c) =>
  Math.max(...rows.map((r) => r[c]!.length), ['benchmark', 'result', 'notes'][c]!.length),
);
const line = (cells: readonly string[]): string =>
  `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
process.stdout.write(
  `\n@synod/storage benchmarks (folder: ${process.env.SYNOD_BENCH_DIR ?? tmpdir()}, Node ${process.version})\n\n`,
);
process.stdout.write(`${line(['benchmark', 'result', 'notes'])}\n`);
process.stdout.write(`${line(widths.map((w) => '-'.repeat(w)))}\n`);
for (const r of rows) process.stdout.write(`${line(r)}\n`);
