import { toHex } from '@synod/crypto';
import { txHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import type { TxAddedEvent } from '../../src/index.js';
import { Mempool } from '../../src/index.js';
import { FakeApp, makeTx, senderAddress } from '../helpers/fake-app.js';

describe('add: validation through checkTx', () => {
  it('accepts a tx only after checkTx says OK', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 1, nonce: 0, priority: 5 });
    const res = await pool.add(tx);
    expect(res).toMatchObject({ accepted: true, code: 'OK', reason: '', evicted: [], replaced: undefined });
    expect(app.calls).toEqual([{ kind: 'new', sender: 1, nonce: 0 }]);
    expect(pool.size).toBe(1);
    expect(pool.bytes).toBe(tx.byteLength);
    expect(pool.has(txHash(tx))).toBe(true);
    expect(pool.has(toHex(txHash(tx)))).toBe(true);
    expect(pool.has(toHex(txHash(tx)).toUpperCase())).toBe(true);
    expect(pool.get(txHash(tx))).toBe(tx);
  });

  it("rejects with checkTx's code and log, and keeps nothing", async () => {
    const app = new FakeApp();
    app.banned.add(7);
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 7, nonce: 0 });
    const res = await pool.add(tx);
    expect(res).toEqual({
      accepted: false,
      code: 'SENDER_BANNED',
      reason: 'sender 7 is banned',
      hash: txHash(tx),
    });
    expect(pool.size).toBe(0);
    expect(pool.has(txHash(tx))).toBe(false);
  });

  it('forgets a rejected tx so it can be submitted again once valid', async () => {
    const app = new FakeApp();
    app.banned.add(7);
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 7, nonce: 0 });
    expect((await pool.add(tx)).code).toBe('SENDER_BANNED');
    app.banned.delete(7);
    expect((await pool.add(tx)).code).toBe('OK');
  });

  it('with keepInvalidTxsInCache, a rejected tx is a DUPLICATE without a second checkTx', async () => {
    const app = new FakeApp();
    app.banned.add(7);
    const pool = new Mempool(app, { keepInvalidTxsInCache: true });
    const tx = makeTx({ sender: 7, nonce: 0 });
    expect((await pool.add(tx)).code).toBe('SENDER_BANNED');
    app.banned.delete(7);
    expect((await pool.add(tx)).code).toBe('DUPLICATE');
    expect(app.calls).toHaveLength(1);
  });

  it('rejects an unusable checkTx result with TX_INVALID', async () => {
    const pool = new Mempool({
      checkTx: async () => ({ code: 'OK', log: '', sender: new Uint8Array(20), nonce: -1 }),
    });
    const res = await pool.add(makeTx({ sender: 1, nonce: 0 }));
    expect(res).toMatchObject({ accepted: false, code: 'TX_INVALID' });
    expect(res.accepted === false && res.reason).toMatch(/nonce/);
    const pool2 = new Mempool({ checkTx: async () => ({ code: 'OK', log: '', gasWanted: 1.5 }) });
    expect((await pool2.add(makeTx({ sender: 1, nonce: 0 }))).code).toBe('TX_INVALID');
  });

  it('propagates a throwing checkTx and forgets the hash', async () => {
    let fail = true;
    const app = new FakeApp();
    const pool = new Mempool({
      checkTx: async (tx, kind) => {
        if (fail) throw new Error('app down');
        return app.checkTx(tx, kind);
      },
    });
    const tx = makeTx({ sender: 1, nonce: 0 });
    await expect(pool.add(tx)).rejects.toThrow('app down');
    fail = false;
    expect((await pool.add(tx)).code).toBe('OK');
  });

  it('copies a tx that is a view into a larger buffer (never retains the whole buffer)', async () => {
    const pool = new Mempool(new FakeApp());
    const tx = makeTx({ sender: 1, nonce: 0 });
    const big = new Uint8Array(4096);
    big.set(tx, 100);
    const view = big.subarray(100, 100 + tx.byteLength);
    await pool.add(view);
    const stored = pool.get(txHash(tx));
    expect(stored).toEqual(tx);
    expect(stored?.buffer.byteLength).toBe(tx.byteLength);
    const own = makeTx({ sender: 2, nonce: 0 });
    await pool.add(own);
    expect(pool.get(txHash(own))).toBe(own); // an exact buffer is kept as is
  });

  it('throws a TypeError for input that is not bytes', async () => {
    const pool = new Mempool(new FakeApp());
    await expect(pool.add('nope' as unknown as Uint8Array)).rejects.toThrow(TypeError);
  });
});

describe('add: per-tx max bytes', () => {
  it('rejects a tx above maxTxBytes with TX_TOO_LARGE before hashing or checkTx', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { maxTxBytes: 100 });
    const res = await pool.add(makeTx({ sender: 1, nonce: 0, size: 101 }));
    expect(res).toEqual({
      accepted: false,
      code: 'TX_TOO_LARGE',
      reason: 'tx is 101 bytes; the limit is 100',
      hash: undefined,
    });
    expect(app.calls).toHaveLength(0);
    expect((await pool.add(makeTx({ sender: 1, nonce: 0, size: 100 }))).code).toBe('OK');
  });
});

describe('add: seen-cache', () => {
  it('drops a duplicate of a pending tx without calling checkTx again', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 1, nonce: 0 });
    await pool.add(tx);
    const copy = new Uint8Array(tx);
    const res = await pool.add(copy);
    expect(res).toMatchObject({ accepted: false, code: 'DUPLICATE', hash: txHash(tx) });
    expect(app.calls).toHaveLength(1);
    expect(pool.size).toBe(1);
  });

  it('drops a duplicate even after the tx left the pool (committed)', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 1, nonce: 0 });
    await pool.add(tx);
    app.commit([tx]);
    await pool.update(1, [tx]);
    expect(pool.size).toBe(0);
    expect((await pool.add(tx)).code).toBe('DUPLICATE');
    expect(app.calls.filter((c) => c.kind === 'new')).toHaveLength(1);
  });

  it('remembers committed txs it never held (gossip arriving after the block)', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 1, nonce: 0 });
    await pool.update(1, [tx]);
    expect((await pool.add(tx)).code).toBe('DUPLICATE');
    expect(app.calls).toHaveLength(0);
  });

  it('is an LRU of bounded size: an old hash is forgotten, and checkTx decides again', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { cacheSize: 3 });
    const first = makeTx({ sender: 1, nonce: 0 });
    await pool.update(1, [first]);
    app.commit([first]);
    for (let i = 0; i < 3; i++) await pool.update(2 + i, [makeTx({ sender: 2, nonce: i })]);
    const res = await pool.add(first);
    expect(res.code).toBe('NONCE_TOO_LOW');
    expect(app.calls).toHaveLength(1);
  });

  it('a hit refreshes the hash (least recently SEEN is forgotten first)', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { cacheSize: 2 });
    const a = makeTx({ sender: 1, nonce: 0 });
    const b = makeTx({ sender: 2, nonce: 0 });
    await pool.update(1, [a, b]);
    expect((await pool.add(a)).code).toBe('DUPLICATE'); // refreshes a
    await pool.update(2, [makeTx({ sender: 3, nonce: 0 })]); // evicts b, the oldest
    expect((await pool.add(a)).code).toBe('DUPLICATE');
    expect((await pool.add(b)).code).toBe('OK');
  });

  it('a pending tx stays a DUPLICATE even when the cache forgot its hash', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { cacheSize: 1 });
    const a = makeTx({ sender: 1, nonce: 0 });
    await pool.add(a);
    await pool.add(makeTx({ sender: 2, nonce: 0 }));
    expect((await pool.add(a)).code).toBe('DUPLICATE');
    expect(app.calls).toHaveLength(2);
  });
});

describe('onTxAdded (gossip hook)', () => {
  it('fires once per newly accepted tx, with its source; never for rejections or duplicates', async () => {
    const app = new FakeApp();
    app.banned.add(9);
    const pool = new Mempool(app);
    const events: TxAddedEvent[] = [];
    const off = pool.onTxAdded((e) => events.push(e));
    const tx = makeTx({ sender: 1, nonce: 3, priority: 4, gas: 21 });
    await pool.add(tx, { source: 'peer-a' });
    await pool.add(tx, { source: 'peer-b' });
    await pool.add(makeTx({ sender: 9, nonce: 0 }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      tx,
      hash: txHash(tx),
      nonce: 3,
      priority: 4n,
      effectivePriority: 4n,
      gasWanted: 21,
      height: 0,
      source: 'peer-a',
    });
    off();
    await pool.add(makeTx({ sender: 2, nonce: 0 }));
    expect(events).toHaveLength(1);
  });

  it('a throwing listener neither fails the add nor stops other listeners', async () => {
    const pool = new Mempool(new FakeApp());
    let seen = 0;
    pool.onTxAdded(() => {
      throw new Error('boom');
    });
    pool.onTxAdded(() => {
      seen += 1;
    });
    expect((await pool.add(makeTx({ sender: 1, nonce: 0 }))).code).toBe('OK');
    expect(seen).toBe(1);
  });
});

describe('inspection', () => {
  it('contents lists pending txs in priority order with their metadata; flush empties pool and cache', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const a = makeTx({ sender: 1, nonce: 0, priority: 1 });
    const b = makeTx({ sender: 2, nonce: 0, priority: 9 });
    await pool.add(a);
    await pool.add(b);
    const list = pool.contents();
    expect(list.map((t) => t.tx)).toEqual([b, a]);
    expect(list[0]).toMatchObject({ sender: senderAddress(2), nonce: 0, priority: 9n, hash: txHash(b) });
    expect(pool.contents(1)).toHaveLength(1);
    await pool.flush();
    expect(pool.size).toBe(0);
    expect(pool.bytes).toBe(0);
    expect(pool.reap()).toEqual([]);
    expect((await pool.add(a)).code).toBe('OK');
  });
});
