import { toHex } from '@synod/crypto';
import { txHash } from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MempoolTx } from '../../src/index.js';
import { Mempool } from '../../src/index.js';
import { decodeTx, FakeApp, makeTx } from '../helpers/fake-app.js';

type Op =
  | {
      readonly kind: 'add';
      readonly sender: number;
      readonly nonce: number;
      readonly priority: number;
      readonly size: number;
      readonly gas: number;
      readonly tag: number;
    }
  | { readonly kind: 'commit'; readonly count: number }
  | { readonly kind: 'reap'; readonly maxBytes: number; readonly maxGas: number; readonly maxTxs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      sender: fc.integer({ min: 0, max: 6 }),
      nonce: fc.integer({ min: 0, max: 6 }),
      priority: fc.integer({ min: 0, max: 12 }),
      size: fc.integer({ min: 22, max: 80 }),
      gas: fc.integer({ min: 0, max: 40 }),
      tag: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('commit' as const), count: fc.integer({ min: 0, max: 6 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reap' as const),
      maxBytes: fc.integer({ min: 0, max: 500 }),
      maxGas: fc.integer({ min: 0, max: 150 }),
      maxTxs: fc.integer({ min: 0, max: 20 }),
    }),
  },
);

const configArb = fc.record({
  maxTxs: fc.integer({ min: 1, max: 14 }),
  maxBytes: fc.integer({ min: 80, max: 700 }),
});

interface Info {
  readonly sender: number;
  readonly nonce: number;
  readonly eff: bigint;
  readonly seq: number;
  readonly size: number;
  readonly gas: number;
}

function keyOf(tx: Uint8Array): string {
  return toHex(txHash(tx));
}

/** The pool as seen through its public API, plus arrival sequence numbers the test tracked. */
function snapshot(pool: Mempool, seqs: ReadonlyMap<string, number>): Map<string, Info> {
  const out = new Map<string, Info>();
  for (const t of pool.contents()) {
    const d = decodeTx(t.tx);
    if (d === undefined) throw new Error('not a fake tx');
    const key = toHex(t.hash);
    out.set(key, {
      sender: d.sender,
      nonce: d.nonce,
      eff: t.effectivePriority,
      seq: seqs.get(key) ?? -1,
      size: t.tx.byteLength,
      gas: t.gasWanted,
    });
  }
  return out;
}

/** Reference reap without limits: repeatedly the best ready head by (effective desc, arrival asc). */
function referenceOrder(pool: Map<string, Info>): string[] {
  const bySender = new Map<number, [string, Info][]>();
  for (const entry of pool) {
    const list = bySender.get(entry[1].sender) ?? [];
    list.push(entry);
    bySender.set(entry[1].sender, list);
  }
  for (const list of bySender.values()) list.sort((a, b) => a[1].nonce - b[1].nonce);
  const out: string[] = [];
  const pos = new Map<number, number>();
  for (;;) {
    let best: [string, Info] | undefined;
    for (const [sender, list] of bySender) {
      const i = pos.get(sender) ?? 0;
      const cand = list[i];
      if (cand === undefined) continue;
      const prev = list[i - 1];
      if (prev !== undefined && prev[1].nonce + 1 !== cand[1].nonce) continue; // nonce gap
      if (
        best === undefined ||
        cand[1].eff > best[1].eff ||
        (cand[1].eff === best[1].eff && cand[1].seq < best[1].seq)
      ) {
        best = cand;
      }
    }
    if (best === undefined) return out;
    out.push(best[0]);
    pos.set(best[1].sender, (pos.get(best[1].sender) ?? 0) + 1);
  }
}

function checkInvariants(
  pool: Mempool,
  cfg: { maxTxs: number; maxBytes: number },
  list: readonly MempoolTx[],
): void {
  expect(pool.size).toBeLessThanOrEqual(cfg.maxTxs);
  expect(pool.bytes).toBeLessThanOrEqual(cfg.maxBytes);
  expect(list).toHaveLength(pool.size);
  expect(list.reduce((n, t) => n + t.tx.byteLength, 0)).toBe(pool.bytes);
  // effective priority = running minimum of priorities along each sender's nonce order
  const bySender = new Map<string, MempoolTx[]>();
  for (const t of list) {
    const k = t.sender === undefined ? `#${toHex(t.hash)}` : toHex(t.sender);
    bySender.set(k, [...(bySender.get(k) ?? []), t]);
  }
  for (const txs of bySender.values()) {
    txs.sort((a, b) => (a.nonce ?? 0) - (b.nonce ?? 0));
    let min: bigint | undefined;
    for (const t of txs) {
      min = min === undefined || t.priority < min ? t.priority : min;
      expect(t.effectivePriority).toBe(min);
    }
  }
}

async function run(cfg: { maxTxs: number; maxBytes: number }, ops: readonly Op[]): Promise<void> {
  const app = new FakeApp();
  const pool = new Mempool(app, { ...cfg, maxTxBytes: 80, ttlBlocks: 0 });
  const seqs = new Map<string, number>();
  let seq = 0;
  let height = 0;
  for (const op of ops) {
    if (op.kind === 'add') {
      const before = snapshot(pool, seqs);
      const tx = makeTx({ ...op, priority: op.priority });
      const res = await pool.add(tx);
      const after = snapshot(pool, seqs);
      if (res.accepted) {
        const key = toHex(res.hash);
        seqs.set(key, seq++);
        const mine = snapshot(pool, seqs).get(key);
        expect(mine).toBeDefined();
        for (const h of res.evicted) {
          const victim = before.get(toHex(h));
          expect(victim).toBeDefined();
          if (victim === undefined || mine === undefined) continue;
          // only strictly lower effective priority is evicted ...
          expect(victim.eff < mine.eff).toBe(true);
          // ... and never a tx that a remaining same-sender tx depends on
          for (const other of after.values()) {
            if (other.sender === victim.sender) expect(other.nonce).toBeLessThan(victim.nonce);
          }
        }
      } else if (res.code === 'MEMPOOL_FULL' || res.code === 'NONCE_CONFLICT' || res.code === 'DUPLICATE') {
        expect(after).toEqual(before); // a rejection changes nothing
      }
    } else if (op.kind === 'commit') {
      const block = pool.reap({ maxTxs: op.count });
      app.commit(block);
      height += 1;
      await pool.update(height, block);
      for (const tx of block) expect((await pool.add(tx)).code).toBe('DUPLICATE');
    } else {
      const info = snapshot(pool, seqs);
      const limits = { maxBytes: op.maxBytes, maxGas: op.maxGas };
      const reaped = pool.reap(limits).map(keyOf);
      const reapedInfo = reaped.map((k) => info.get(k) as Info);
      // within limits
      expect(reapedInfo.reduce((n, i) => n + i.size, 0)).toBeLessThanOrEqual(op.maxBytes);
      expect(reapedInfo.reduce((n, i) => n + i.gas, 0)).toBeLessThanOrEqual(op.maxGas);
      // priority order
      for (let i = 1; i < reapedInfo.length; i++) {
        expect((reapedInfo[i] as Info).eff <= (reapedInfo[i - 1] as Info).eff).toBe(true);
      }
      // per-sender nonce order, consecutive from the sender's lowest pending nonce
      const lowest = new Map<number, number>();
      for (const v of info.values()) lowest.set(v.sender, Math.min(lowest.get(v.sender) ?? v.nonce, v.nonce));
      const last = new Map<number, number>();
      for (const r of reapedInfo) {
        const expected = last.has(r.sender) ? (last.get(r.sender) as number) + 1 : lowest.get(r.sender);
        expect(r.nonce).toBe(expected);
        last.set(r.sender, r.nonce);
      }
      // unlimited reap is exactly the reference greedy order; maxTxs gives its prefix
      const full = pool.reap();
      expect(full.map(keyOf)).toEqual(referenceOrder(info));
      expect(pool.reap({ maxTxs: op.maxTxs })).toEqual(full.slice(0, op.maxTxs));
    }
    checkInvariants(pool, cfg, pool.contents());
  }
}

describe('properties (fast-check)', () => {
  it('the pool never exceeds its caps; reaps are in priority order, respecting per-sender nonce order and limits', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 60 }), (cfg, ops) =>
        run(cfg, ops),
      ),
      { numRuns: 150 },
    );
  });
});
