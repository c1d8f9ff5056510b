/**
 * The RPC's per-block work for a block of transfers, in one process, no
 * network: `TxIndexer.index` (block results, tx records, event index) making
 * its batch only (a store that drops it: in the node the batch joins the
 * height's write group), then the same into a LevelDB (a prefixed view, as
 * the daemon has it), then what the server does for the block event with
 * one subscriber to NewBlockHeader (as `synod load` has): ms per block and
 * µs per transaction.
 *
 *   pnpm --filter @synod/rpc exec tsx --conditions=source bench/index-block.ts [txs] [blocks]
 */
import '@synod/polyfills';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KvStore, openLevelKvStore, prefixedKvStore } from '@synod/storage';
import { EventBus, type IndexedBlock, Query, TxIndexer, txEventMap } from '../src/index.js';
import { ACCOUNTS, indexedTransfers, transfer } from '../test/harness.js';

const TXS = Number(process.argv[2] ?? 2000);
const BLOCKS = Number(process.argv[3] ?? 20);

function blockOf(height: number): IndexedBlock {
  const txs = Array.from({ length: TXS }, (_, i) =>
    transfer(ACCOUNTS[i % 4]!, height * TXS + i, ACCOUNTS[(i + 1) % 4]!, BigInt(i + 1)),
  );
  return indexedTransfers(
    height,
    txs,
    txs.map((_, i) => BigInt(i + 1)),
  );
}

const dir = await mkdtemp(join(tmpdir(), 'synod-rpc-index-bench-'));
try {
  const level = await openLevelKvStore(join(dir, 'db'));
  const indexer = await TxIndexer.open(prefixedKvStore(level, Uint8Array.of(0x72)), 'kv');
  const bus = new EventBus({ maxClients: 10, maxPerClient: 10 });
  bus.subscribe('load', Query.parse("tm.event = 'NewBlockHeader'"), () => undefined);
  const blocks = Array.from({ length: BLOCKS + 2 }, (_, i) => blockOf(i + 1));
  let ops = 0;
  const dropping = {
    get: async () => Uint8Array.of(1),
    batch: async (o: readonly unknown[]) => {
      ops += o.length;
    },
  } as unknown as KvStore;
  const making = await TxIndexer.open(dropping, 'kv');
  let makeMs = 0;
  for (const [i, block] of blocks.entries()) {
    const t0 = performance.now();
    await making.index(block);
    if (i >= 2) makeMs += performance.now() - t0;
  }
  let indexMs = 0;
  let eventMs = 0;
  for (const [i, block] of blocks.entries()) {
    const t0 = performance.now();
    await indexer.index(block);
    const t1 = performance.now();
    // as the server's block event: NewBlock's results when wanted, then each transaction's Tx event
    // map when a subscription may want Tx events
    if (bus.wants({ 'tm.event': ['NewBlock'] })) TxIndexer.resultsJson(block);
    if (bus.mayWant('Tx')) for (let k = 0; k < block.txs.length; k++) bus.wants(txEventMap(block, k));
    const t2 = performance.now();
    if (i >= 2) {
      indexMs += t1 - t0;
      eventMs += t2 - t1;
    }
  }
  const per = (ms: number): string =>
    `${(ms / BLOCKS).toFixed(2)} ms/block, ${((ms * 1000) / BLOCKS / TXS).toFixed(2)} µs/tx`;
  console.log(`${TXS} transfers per block, ${BLOCKS} blocks (after 2 warm-up blocks)`);
  console.log(`  index, the batch made (${ops / blocks.length / TXS} writes per tx): ${per(makeMs)}`);
  console.log(`  index, made and written to LevelDB:           ${per(indexMs)}`);
  console.log(`  block event, one NewBlockHeader subscriber:   ${per(eventMs)}`);
  await level.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
