import { strict as assert } from 'node:assert';
import type { MempoolApp } from '@synod/mempool';
import { Mempool } from '@synod/mempool';

// A toy application: a tx is [sender, nonce, fee] (one byte each). The pool never
// decodes txs itself: sender, nonce, priority and gas all come from checkTx.
const app: MempoolApp = {
  async checkTx(tx) {
    const [sender = 0, nonce = 0, fee = 0] = tx;
    if (fee === 0) return { code: 'FEE_TOO_LOW', log: 'a fee is required' };
    return {
      code: 'OK',
      log: '',
      sender: Uint8Array.of(sender),
      nonce,
      priority: BigInt(fee),
      gasWanted: 10,
    };
  },
};

const pool = new Mempool(app, { maxTxs: 3, ttlBlocks: 100 });
const gossiped: Uint8Array[] = [];
pool.onTxAdded((event) => gossiped.push(event.tx)); // e.g. publish to peers, once per new tx

await pool.add(Uint8Array.of(1, 0, 5)); // sender 1, nonce 0, fee 5
await pool.add(Uint8Array.of(1, 1, 9)); // sender 1, nonce 1, fee 9 (effective priority 5: it needs nonce 0 first)
await pool.add(Uint8Array.of(2, 0, 7)); // sender 2, nonce 0, fee 7
assert.equal((await pool.add(Uint8Array.of(2, 0, 7))).code, 'DUPLICATE');
assert.equal((await pool.add(Uint8Array.of(3, 0, 0))).code, 'FEE_TOO_LOW');

// Full (maxTxs: 3): a tx must beat the lowest effective priority (5) to evict it.
const rejected = await pool.add(Uint8Array.of(3, 0, 4));
assert.equal(rejected.code, 'MEMPOOL_FULL');
assert.equal(pool.size, 3);
assert.equal(gossiped.length, 3);

// A proposal: priority order, each sender's nonces in order, within bytes and gas.
const block = pool.reap({ maxBytes: 1024, maxGas: 20 });
assert.deepEqual(block, [Uint8Array.of(2, 0, 7), Uint8Array.of(1, 0, 5)]);

// After the block commits: drop its txs, re-check the rest, expire old ones.
const result = await pool.update(1, block);
assert.equal(result.committed, 2);
assert.deepEqual(pool.reap(), [Uint8Array.of(1, 1, 9)]);
