import { txHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Mempool } from '../../src/index.js';
import { FakeApp, ids, makeTx } from '../helpers/fake-app.js';

describe('caps', () => {
  it('caps by count: the pool never holds more than maxTxs', async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 3 });
    for (let i = 0; i < 3; i++)
      expect((await pool.add(makeTx({ sender: i, nonce: 0, priority: 5 }))).code).toBe('OK');
    const res = await pool.add(makeTx({ sender: 9, nonce: 0, priority: 5 }));
    expect(res.code).toBe('MEMPOOL_FULL');
    expect(pool.size).toBe(3);
  });

  it('caps by total bytes', async () => {
    const pool = new Mempool(new FakeApp(), { maxBytes: 100, maxTxBytes: 100 });
    expect((await pool.add(makeTx({ sender: 1, nonce: 0, priority: 5, size: 60 }))).code).toBe('OK');
    expect((await pool.add(makeTx({ sender: 2, nonce: 0, priority: 5, size: 41 }))).code).toBe(
      'MEMPOOL_FULL',
    );
    expect((await pool.add(makeTx({ sender: 2, nonce: 0, priority: 5, size: 40 }))).code).toBe('OK');
    expect(pool.bytes).toBe(100);
  });
});

describe('eviction: lowest priority first', () => {
  it('a higher-priority tx evicts the lowest-priority one when the pool is full', async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 3 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 20 }));
    const lowest = makeTx({ sender: 2, nonce: 0, priority: 10 });
    await pool.add(lowest);
    await pool.add(makeTx({ sender: 3, nonce: 0, priority: 30 }));
    const res = await pool.add(makeTx({ sender: 4, nonce: 0, priority: 11 }));
    expect(res).toMatchObject({ accepted: true, evicted: [txHash(lowest)] });
    expect(pool.has(txHash(lowest))).toBe(false);
    expect(ids(pool.reap())).toEqual(['3:0', '1:0', '4:0']);
  });

  it('compares priorities beyond 2^53 exactly when evicting', async () => {
    const big = 2n ** 60n;
    const pool = new Mempool(new FakeApp(), { maxTxs: 2 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: big + 1n }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: big }));
    expect((await pool.add(makeTx({ sender: 3, nonce: 0, priority: big }))).code).toBe('MEMPOOL_FULL');
    expect((await pool.add(makeTx({ sender: 3, nonce: 0, priority: big + 2n }))).code).toBe('OK');
    expect(ids(pool.reap())).toEqual(['3:0', '1:0']);
  });

  it('among equal lowest priorities, the latest arrival is evicted', async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 2 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 1 }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 1 }));
    await pool.add(makeTx({ sender: 3, nonce: 0, priority: 2 }));
    expect(ids(pool.reap())).toEqual(['3:0', '1:0']);
  });

  it("never strands a sender's later nonce: it evicts the sender's highest nonce first", async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 3 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 1 })); // lowest priority, but 1:1 depends on it
    await pool.add(makeTx({ sender: 1, nonce: 1, priority: 100 })); // effective priority 1
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 50 }));
    const res = await pool.add(makeTx({ sender: 3, nonce: 0, priority: 60 }));
    expect(res.accepted && res.evicted).toHaveLength(1);
    expect(ids(pool.reap())).toEqual(['3:0', '2:0', '1:0']);
    // the next eviction takes the now-lone 1:0
    await pool.add(makeTx({ sender: 4, nonce: 0, priority: 70 }));
    expect(ids(pool.reap())).toEqual(['4:0', '3:0', '2:0']);
  });

  it('evicts as many as needed for the bytes of a large tx, all strictly lower priority', async () => {
    const pool = new Mempool(new FakeApp(), { maxBytes: 200, maxTxBytes: 200 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 1, size: 50 }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 2, size: 50 }));
    await pool.add(makeTx({ sender: 3, nonce: 0, priority: 3, size: 50 }));
    await pool.add(makeTx({ sender: 4, nonce: 0, priority: 9, size: 50 }));
    const res = await pool.add(makeTx({ sender: 5, nonce: 0, priority: 5, size: 120 }));
    expect(res.accepted && res.evicted.length).toBe(3);
    expect(ids(pool.reap())).toEqual(['4:0', '5:0']);
    expect(pool.bytes).toBe(170);
  });

  it('evicts nothing when it cannot make enough room (no partial eviction)', async () => {
    const pool = new Mempool(new FakeApp(), { maxBytes: 200, maxTxBytes: 200 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 1, size: 50 }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 9, size: 150 }));
    const res = await pool.add(makeTx({ sender: 3, nonce: 0, priority: 5, size: 120 }));
    expect(res.code).toBe('MEMPOOL_FULL');
    expect(pool.size).toBe(2);
    expect(pool.bytes).toBe(200);
  });

  it('an evicted tx is forgotten by the seen-cache, so it can be resubmitted later', async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 1 });
    const low = makeTx({ sender: 1, nonce: 0, priority: 1 });
    await pool.add(low);
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 2 }));
    expect(pool.has(txHash(low))).toBe(false);
    const res = await pool.add(low);
    expect(res.code).toBe('MEMPOOL_FULL'); // reached the capacity check, not DUPLICATE
  });
});

describe('backpressure', () => {
  it('rejects with MEMPOOL_FULL and a reason naming the caps and priorities', async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 2, maxBytes: 1000, maxTxBytes: 100 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 7 }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 8 }));
    const tx = makeTx({ sender: 3, nonce: 0, priority: 7 });
    const res = await pool.add(tx);
    expect(res).toEqual({
      accepted: false,
      code: 'MEMPOOL_FULL',
      reason:
        "mempool full (2/2 txs, 64/1000 bytes): the tx's effective priority 7 is not above the lowest evictable priority 7",
      hash: txHash(tx),
    });
  });

  it('a rejected-when-full tx is not cached: it is accepted once there is room', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { maxTxs: 1 });
    const first = makeTx({ sender: 1, nonce: 0, priority: 5 });
    await pool.add(first);
    const waiting = makeTx({ sender: 2, nonce: 0, priority: 1 });
    expect((await pool.add(waiting)).code).toBe('MEMPOOL_FULL');
    app.commit([first]);
    await pool.update(1, [first]);
    expect((await pool.add(waiting)).code).toBe('OK');
  });

  it("a sender's later nonce with a high fee is judged by its effective priority", async () => {
    const pool = new Mempool(new FakeApp(), { maxTxs: 2 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 2 }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 3 }));
    // 1:1 pays 100 but cannot be included before 1:0 (priority 2): effective 2, nothing lower to evict
    const res = await pool.add(makeTx({ sender: 1, nonce: 1, priority: 100 }));
    expect(res.code).toBe('MEMPOOL_FULL');
    expect(res.accepted === false && res.reason).toMatch(/effective priority 2 /);
  });
});
