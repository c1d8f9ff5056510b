import type { Clock } from '@synod/types';
import { isSynodError, txHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Mempool } from '../../src/index.js';
import { FakeApp, ids, makeTx } from '../helpers/fake-app.js';

describe('update: committed txs', () => {
  it('removes the committed txs and keeps the rest', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const a = makeTx({ sender: 1, nonce: 0, priority: 3 });
    const b = makeTx({ sender: 1, nonce: 1, priority: 3 });
    const c = makeTx({ sender: 2, nonce: 0, priority: 1 });
    for (const tx of [a, b, c]) await pool.add(tx);
    const block = pool.reap({ maxTxs: 2 });
    expect(block).toEqual([a, b]);
    app.commit(block);
    const res = await pool.update(1, block);
    expect(res).toEqual({ committed: 2, superseded: 0, expired: 0, rechecked: 1, invalid: 0 });
    expect(pool.reap()).toEqual([c]);
    expect(pool.size).toBe(1);
    expect(pool.bytes).toBe(c.byteLength);
    expect(pool.height).toBe(1);
  });

  it('drops lower pending nonces of a sender whose higher nonce was committed', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { recheck: false });
    const n0 = makeTx({ sender: 1, nonce: 0 });
    const n1 = makeTx({ sender: 1, nonce: 1 });
    const n2 = makeTx({ sender: 1, nonce: 2 });
    for (const tx of [n0, n1, n2]) await pool.add(tx);
    const res = await pool.update(1, [n1]);
    expect(res).toMatchObject({ committed: 1, superseded: 1 });
    expect(pool.reap()).toEqual([n2]);
  });

  it('requires increasing heights', async () => {
    const pool = new Mempool(new FakeApp(), { height: 5 });
    const err = await pool.update(5, []).catch((e: unknown) => e);
    expect(isSynodError(err, 'INTERNAL')).toBe(true);
    await pool.update(6, []);
    expect(pool.height).toBe(6);
  });
});

describe('update: recheck', () => {
  it('re-checks the rest against the new state and drops the now-invalid ones', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const mine = makeTx({ sender: 1, nonce: 0, priority: 1 });
    const other = makeTx({ sender: 2, nonce: 0, priority: 1 });
    await pool.add(mine);
    await pool.add(other);
    // another proposer's block carried a different tx with sender 1's nonce 0
    const theirs = makeTx({ sender: 1, nonce: 0, priority: 1, tag: 9 });
    app.commit([theirs]);
    const res = await pool.update(1, [theirs]);
    expect(res).toMatchObject({ committed: 0, rechecked: 2, invalid: 1 });
    expect(pool.reap()).toEqual([other]);
    expect(app.calls.filter((c) => c.kind === 'recheck')).toHaveLength(2);
  });

  it("drops a failing tx together with its sender's higher nonces, and forgets them in the seen-cache", async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    const txs = [0, 1, 2].map((nonce) => makeTx({ sender: 1, nonce, priority: 4 }));
    for (const tx of txs) await pool.add(tx);
    await pool.add(makeTx({ sender: 2, nonce: 0 }));
    app.banned.add(1);
    const res = await pool.update(1, []);
    expect(res).toMatchObject({ rechecked: 2, invalid: 3 });
    expect(ids(pool.reap())).toEqual(['2:0']);
    app.banned.delete(1);
    expect((await pool.add(txs[0] as Uint8Array)).code).toBe('OK');
  });

  it("re-checks each sender's txs in nonce order", async () => {
    const app = new FakeApp();
    const pool = new Mempool(app);
    for (const nonce of [2, 0, 1]) await pool.add(makeTx({ sender: 1, nonce }));
    app.calls.length = 0;
    await pool.update(1, []);
    expect(app.calls.map((c) => `${c.kind}:${c.nonce}`)).toEqual(['recheck:0', 'recheck:1', 'recheck:2']);
  });

  it('is skipped with recheck: false (option or per update)', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { recheck: false });
    await pool.add(makeTx({ sender: 1, nonce: 0 }));
    await pool.update(1, []);
    expect(app.calls.filter((c) => c.kind === 'recheck')).toHaveLength(0);
    await pool.update(2, [], { recheck: true });
    expect(app.calls.filter((c) => c.kind === 'recheck')).toHaveLength(1);
    const pool2 = new Mempool(app);
    await pool2.add(makeTx({ sender: 2, nonce: 0 }));
    await pool2.update(1, [], { recheck: false });
    expect(app.calls.filter((c) => c.kind === 'recheck')).toHaveLength(1);
  });
});

describe('expiry by age', () => {
  it('by height: drops a tx once ttlBlocks blocks were committed without it', async () => {
    const app = new FakeApp();
    const pool = new Mempool(app, { ttlBlocks: 2 });
    const old = makeTx({ sender: 1, nonce: 0 });
    await pool.add(old);
    await pool.update(1, []);
    const young = makeTx({ sender: 2, nonce: 0 });
    await pool.add(young);
    expect((await pool.update(2, [])).expired).toBe(1);
    expect(pool.reap()).toEqual([young]);
    expect((await pool.update(3, [])).expired).toBe(1);
    expect(pool.size).toBe(0);
    // expired txs are forgotten by the seen-cache: a resubmission goes through checkTx again
    expect((await pool.add(old)).code).toBe('OK');
  });

  it("by height: takes the sender's higher nonces with it", async () => {
    const pool = new Mempool(new FakeApp(), { ttlBlocks: 1, recheck: false });
    await pool.add(makeTx({ sender: 1, nonce: 0 }));
    await pool.update(1, []); // 1:0 expires here (accepted at height 0)
    expect(pool.size).toBe(0);
    await pool.add(makeTx({ sender: 1, nonce: 0 }));
    await pool.add(makeTx({ sender: 1, nonce: 1 }));
    expect((await pool.update(2, [])).expired).toBe(2);
  });

  it('ttlBlocks: 0 disables expiry by height', async () => {
    const pool = new Mempool(new FakeApp(), { ttlBlocks: 0 });
    await pool.add(makeTx({ sender: 1, nonce: 0 }));
    for (let h = 1; h <= 50; h++) await pool.update(h, []);
    expect(pool.size).toBe(1);
  });

  it('by time: drops a tx once it is ttlMs old, using the injected clock', async () => {
    let now = 1_000;
    const clock: Pick<Clock, 'now'> = { now: () => now };
    const pool = new Mempool(new FakeApp(), { ttlMs: 500, ttlBlocks: 0, clock });
    const a = makeTx({ sender: 1, nonce: 0 });
    await pool.add(a);
    now = 1_300;
    const b = makeTx({ sender: 2, nonce: 0 });
    await pool.add(b);
    expect(pool.contents().map((t) => t.timeMs)).toEqual([1_000, 1_300]);
    now = 1_499;
    expect((await pool.update(1, [])).expired).toBe(0);
    now = 1_500;
    expect((await pool.update(2, [])).expired).toBe(1);
    expect(pool.has(txHash(a))).toBe(false);
    expect(pool.has(txHash(b))).toBe(true);
  });
});
