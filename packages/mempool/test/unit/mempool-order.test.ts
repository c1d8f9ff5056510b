import { txHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Mempool } from '../../src/index.js';
import { FakeApp, ids, makeTx } from '../helpers/fake-app.js';

async function poolWith(txs: readonly Uint8Array[]): Promise<Mempool> {
  const pool = new Mempool(new FakeApp(), { maxTxs: 1000 });
  for (const tx of txs) expect((await pool.add(tx)).code).toBe('OK');
  return pool;
}

describe('ordering: priority across senders', () => {
  it('reaps the highest priority first', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 10 }),
      makeTx({ sender: 2, nonce: 0, priority: 30 }),
      makeTx({ sender: 3, nonce: 0, priority: 20 }),
    ]);
    expect(ids(pool.reap())).toEqual(['2:0', '3:0', '1:0']);
  });

  it('breaks ties by arrival order, deterministically', async () => {
    const pool = await poolWith([
      makeTx({ sender: 5, nonce: 0, priority: 7 }),
      makeTx({ sender: 1, nonce: 0, priority: 7 }),
      makeTx({ sender: 3, nonce: 0, priority: 7 }),
    ]);
    expect(ids(pool.reap())).toEqual(['5:0', '1:0', '3:0']);
    expect(ids(pool.reap())).toEqual(['5:0', '1:0', '3:0']);
  });

  it('orders priorities beyond 2^53 exactly (no rounding through Number)', async () => {
    const big = 2n ** 60n;
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: big }),
      makeTx({ sender: 2, nonce: 0, priority: big + 1n }),
      makeTx({ sender: 3, nonce: 0, priority: big - 1n }),
      makeTx({ sender: 4, nonce: 0, priority: big + 1n }),
    ]);
    expect(ids(pool.reap())).toEqual(['2:0', '4:0', '1:0', '3:0']);
  });

  it('orders txs without sender/nonce purely by priority', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 1, unordered: true }),
      makeTx({ sender: 1, nonce: 0, priority: 3, unordered: true, tag: 1 }),
      makeTx({ sender: 1, nonce: 0, priority: 2, unordered: true, tag: 2 }),
    ]);
    expect(pool.reap().map((tx) => tx[9 + 7])).toEqual([3, 2, 1]);
  });
});

describe('ordering: nonce order per sender', () => {
  it("reaps a sender's txs in nonce order whatever their arrival order", async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 2, priority: 50 }),
      makeTx({ sender: 1, nonce: 0, priority: 50 }),
      makeTx({ sender: 1, nonce: 1, priority: 50 }),
    ]);
    expect(ids(pool.reap())).toEqual(['1:0', '1:1', '1:2']);
  });

  it('a higher fee on a later nonce cannot jump ahead of its predecessor (effective priority)', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 1 }),
      makeTx({ sender: 1, nonce: 1, priority: 100 }),
      makeTx({ sender: 2, nonce: 0, priority: 50 }),
    ]);
    expect(ids(pool.reap())).toEqual(['2:0', '1:0', '1:1']);
    expect(pool.contents().map((t) => t.effectivePriority)).toEqual([50n, 1n, 1n]);
  });

  it('interleaves senders by effective priority', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 90 }),
      makeTx({ sender: 1, nonce: 1, priority: 40 }),
      makeTx({ sender: 2, nonce: 0, priority: 60 }),
      makeTx({ sender: 2, nonce: 1, priority: 70 }),
      makeTx({ sender: 3, nonce: 0, priority: 50 }),
    ]);
    // effective: 1:0=90, 1:1=40, 2:0=60, 2:1=60, 3:0=50
    expect(ids(pool.reap())).toEqual(['1:0', '2:0', '2:1', '3:0', '1:1']);
  });

  it('a nonce gap stops that sender in reap; the gapped tx waits in the pool until the gap is filled', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 9 }),
      makeTx({ sender: 1, nonce: 2, priority: 9 }),
      makeTx({ sender: 2, nonce: 0, priority: 1 }),
    ]);
    expect(ids(pool.reap())).toEqual(['1:0', '2:0']);
    expect(pool.size).toBe(3);
    expect(ids(pool.contents().map((t) => t.tx))).toEqual(['1:0', '1:2', '2:0']);
    await pool.add(makeTx({ sender: 1, nonce: 1, priority: 9 }));
    expect(ids(pool.reap())).toEqual(['1:0', '1:1', '1:2', '2:0']);
  });

  it('inserting a lower-fee nonce in the middle lowers the effective priority of the later ones', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 90 }),
      makeTx({ sender: 1, nonce: 2, priority: 90 }),
      makeTx({ sender: 2, nonce: 0, priority: 50 }),
    ]);
    await pool.add(makeTx({ sender: 1, nonce: 1, priority: 10 }));
    expect(ids(pool.reap())).toEqual(['1:0', '2:0', '1:1', '1:2']);
  });
});

describe('replacement (same sender and nonce)', () => {
  it('a strictly higher priority replaces the pending tx in place', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const low = makeTx({ sender: 1, nonce: 0, priority: 5, size: 40 });
    const next = makeTx({ sender: 1, nonce: 1, priority: 50 });
    await pool.add(low);
    await pool.add(next);
    const high = makeTx({ sender: 1, nonce: 0, priority: 8, size: 60 });
    const res = await pool.add(high);
    expect(res.accepted && res.replaced).toEqual(txHash(low));
    expect(pool.reap()).toEqual([high, next]);
    expect(pool.size).toBe(2);
    expect(pool.bytes).toBe(60 + 32);
    expect(pool.contents().map((t) => t.effectivePriority)).toEqual([8n, 8n]);
    // the replaced bytes stay in the seen-cache
    expect((await pool.add(low)).code).toBe('DUPLICATE');
  });

  it('an equal or lower priority is rejected with NONCE_CONFLICT', async () => {
    const pool = new Mempool(new FakeApp());
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 5 }));
    const same = await pool.add(makeTx({ sender: 1, nonce: 0, priority: 5, tag: 1 }));
    expect(same).toMatchObject({ accepted: false, code: 'NONCE_CONFLICT' });
    expect(same.accepted === false && same.reason).toBe(
      'sender already has pending nonce 0 at priority 5; a replacement needs a higher priority (got 5)',
    );
    expect((await pool.add(makeTx({ sender: 1, nonce: 0, priority: 4, tag: 2 }))).code).toBe(
      'NONCE_CONFLICT',
    );
    expect(pool.size).toBe(1);
  });

  it('a replacement that would exceed the bytes cap is rejected with MEMPOOL_FULL', async () => {
    const pool = new Mempool(new FakeApp(), { maxBytes: 100, maxTxBytes: 100 });
    await pool.add(makeTx({ sender: 1, nonce: 0, priority: 1, size: 50 }));
    await pool.add(makeTx({ sender: 2, nonce: 0, priority: 1, size: 40 }));
    const res = await pool.add(makeTx({ sender: 1, nonce: 0, priority: 9, size: 61 }));
    expect(res).toMatchObject({ accepted: false, code: 'MEMPOOL_FULL' });
    expect(pool.bytes).toBe(90);
  });
});

describe('reap limits', () => {
  it('respects maxBytes (with per-tx overhead) and maxGas, and removes nothing', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 9, size: 40, gas: 10 }),
      makeTx({ sender: 2, nonce: 0, priority: 8, size: 40, gas: 10 }),
      makeTx({ sender: 3, nonce: 0, priority: 7, size: 40, gas: 10 }),
    ]);
    expect(ids(pool.reap({ maxBytes: 80 }))).toEqual(['1:0', '2:0']);
    expect(ids(pool.reap({ maxBytes: 80, txOverheadBytes: 4 }))).toEqual(['1:0']);
    expect(ids(pool.reap({ maxGas: 25 }))).toEqual(['1:0', '2:0']);
    expect(ids(pool.reap({ maxTxs: 1 }))).toEqual(['1:0']);
    expect(ids(pool.reap({ maxBytes: 0 }))).toEqual([]);
    expect(ids(pool.reap({ maxTxs: 0 }))).toEqual([]);
    expect(pool.size).toBe(3);
  });

  it('skips a tx that does not fit (and its later nonces) but keeps filling with others', async () => {
    const pool = await poolWith([
      makeTx({ sender: 1, nonce: 0, priority: 9, size: 100 }),
      makeTx({ sender: 1, nonce: 1, priority: 9, size: 30 }),
      makeTx({ sender: 2, nonce: 0, priority: 5, size: 30 }),
      makeTx({ sender: 3, nonce: 0, priority: 4, size: 30, gas: 1000 }),
      makeTx({ sender: 4, nonce: 0, priority: 3, size: 30 }),
    ]);
    expect(ids(pool.reap({ maxBytes: 90, maxGas: 100 }))).toEqual(['2:0', '4:0']);
  });

  it('rejects negative limits', async () => {
    const pool = await poolWith([]);
    expect(() => pool.reap({ maxBytes: -1 })).toThrow(RangeError);
    expect(() => pool.reap({ maxGas: Number.NaN })).toThrow(RangeError);
  });
});
