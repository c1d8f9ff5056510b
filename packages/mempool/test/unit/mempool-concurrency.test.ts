import { txHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Mempool } from '../../src/index.js';
import { decodeTx, FakeApp, makeTx } from '../helpers/fake-app.js';

/** A small deterministic PRNG (LCG) for delays. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function expectConsistent(pool: Mempool, app: FakeApp, caps: { maxTxs: number; maxBytes: number }): void {
  const list = pool.contents();
  expect(list).toHaveLength(pool.size);
  expect(list.reduce((n, t) => n + t.tx.byteLength, 0)).toBe(pool.bytes);
  expect(pool.size).toBeLessThanOrEqual(caps.maxTxs);
  expect(pool.bytes).toBeLessThanOrEqual(caps.maxBytes);
  for (const t of list) {
    const d = decodeTx(t.tx);
    expect(d).toBeDefined();
    if (d !== undefined) expect(d.nonce).toBeGreaterThanOrEqual(app.nextNonce.get(d.sender) ?? 0);
    expect(pool.has(t.hash)).toBe(true);
  }
}

describe('concurrency', () => {
  it('concurrent copies of one tx: one is accepted, the rest are DUPLICATE, checkTx runs once', async () => {
    const app = new FakeApp();
    app.delay = () => 5;
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 1, nonce: 0 });
    const results = await Promise.all([1, 2, 3, 4].map(() => pool.add(new Uint8Array(tx))));
    expect(results.map((r) => r.code).sort()).toEqual(['DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'OK']);
    expect(app.calls).toHaveLength(1);
  });

  it('update waits for in-flight adds, so a tx checked before the commit cannot resurface after it', async () => {
    const app = new FakeApp();
    app.delay = (_tx, kind) => (kind === 'new' ? 20 : 1);
    const pool = new Mempool(app);
    const tx = makeTx({ sender: 1, nonce: 0 });
    const adding = pool.add(tx);
    await new Promise((resolve) => setTimeout(resolve, 1)); // checkTx('new') is now in flight
    app.commit([tx]);
    const updating = pool.update(1, [tx]);
    expect((await adding).code).toBe('OK');
    await updating;
    expect(pool.has(txHash(tx))).toBe(false);
    expect(pool.size).toBe(0);
  });

  it('adds that arrive during an update wait for it and are checked against the new state', async () => {
    const app = new FakeApp();
    app.delay = () => 2;
    const pool = new Mempool(app);
    const committed = makeTx({ sender: 1, nonce: 0 });
    await pool.add(makeTx({ sender: 2, nonce: 0 }));
    app.commit([committed]);
    const updating = pool.update(1, [committed]);
    // a different tx reusing the committed nonce, submitted while the update re-checks
    const late = pool.add(makeTx({ sender: 1, nonce: 0, tag: 7 }));
    await updating;
    expect((await late).code).toBe('NONCE_TOO_LOW');
    expect(app.overlap).toBe(0);
  });

  it('a copy of a tx that the running update commits is a DUPLICATE, with no checkTx, and stays cached', async () => {
    const app = new FakeApp();
    app.delay = (_tx, kind) => (kind === 'recheck' ? 5 : 0);
    const pool = new Mempool(app);
    await pool.add(makeTx({ sender: 2, nonce: 0 })); // something to recheck, so the update takes a while
    const tx = makeTx({ sender: 1, nonce: 0 });
    app.commit([tx]);
    const updating = pool.update(1, [tx]);
    const late = pool.add(tx);
    await updating;
    expect((await late).code).toBe('DUPLICATE');
    expect(app.calls.filter((c) => c.kind === 'new' && c.sender === 1)).toHaveLength(0);
    expect((await pool.add(tx)).code).toBe('DUPLICATE');
  });

  it('never exceeds its caps while many adds are in flight', async () => {
    const app = new FakeApp();
    const rnd = lcg(7);
    app.delay = () => Math.floor(rnd() * 4);
    const caps = { maxTxs: 10, maxBytes: 10 * 40 };
    const pool = new Mempool(app, { ...caps, maxTxBytes: 40 });
    let maxSeen = 0;
    pool.onTxAdded(() => {
      maxSeen = Math.max(maxSeen, pool.size);
      expect(pool.bytes).toBeLessThanOrEqual(caps.maxBytes);
    });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        pool.add(makeTx({ sender: i, nonce: 0, priority: Math.floor(rnd() * 20), size: 24 + (i % 17) })),
      ),
    );
    expect(maxSeen).toBeLessThanOrEqual(caps.maxTxs);
    expect(results.filter((r) => r.code === 'OK').length).toBeGreaterThan(caps.maxTxs - 1);
    expect(new Set(results.map((r) => r.code))).toEqual(new Set(['OK', 'MEMPOOL_FULL']));
    expectConsistent(pool, app, caps);
  });

  it('stays consistent under randomly interleaved adds and updates', async () => {
    for (const seed of [1, 2, 3]) {
      const app = new FakeApp();
      const rnd = lcg(seed);
      app.delay = () => Math.floor(rnd() * 3);
      const caps = { maxTxs: 40, maxBytes: 40 * 48 };
      const pool = new Mempool(app, { ...caps, maxTxBytes: 48 });
      const pending: Promise<unknown>[] = [];
      const nonces = new Map<number, number>();
      let height = 0;
      for (let step = 0; step < 300; step++) {
        if (step % 37 === 36) {
          const block = pool.reap({ maxTxs: 1 + Math.floor(rnd() * 10) });
          height += 1;
          // commit what was reaped (the app executes it), then tell the pool
          app.commit(block);
          pending.push(pool.update(height, block));
        } else {
          const sender = Math.floor(rnd() * 12);
          const nonce = nonces.get(sender) ?? 0;
          nonces.set(sender, nonce + (rnd() < 0.9 ? 1 : 0));
          const tx = makeTx({
            sender,
            nonce,
            priority: Math.floor(rnd() * 50),
            size: 24 + Math.floor(rnd() * 24),
          });
          pending.push(pool.add(tx));
        }
        if (rnd() < 0.3) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await Promise.all(pending);
      height += 1;
      await pool.update(height, []);
      expectConsistent(pool, app, caps);
      expect(app.overlap).toBe(0);
    }
  });
});
