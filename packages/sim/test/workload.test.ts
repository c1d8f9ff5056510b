import { decodeTx } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { LIVENESS_SENDERS, Rng, runSimulation, SIM_CHAIN_ID, TX_KINDS, TxWorkload } from '../src/index.js';
import { fixture } from './helpers.js';

describe('transaction workload', () => {
  it('the safety phase mixes valid transfers, copies, broken signatures, low fees, other chains and nonce gaps', async () => {
    const f = await fixture();
    const w = new TxWorkload(f.chain, new Rng(3));
    const nonces = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const s = w.next('safety', (sender) => nonces.get(sender) ?? 0);
      expect(s.sender).toBeLessThan(f.chain.accounts.length - LIVENESS_SENDERS);
      const tx = decodeTx(s.tx);
      expect(tx.body.nonce).toBe(s.nonce);
      if (s.kind === 'wrong-chain') expect(tx.body.chainId).not.toBe(SIM_CHAIN_ID);
      w.answered(s, s.kind === 'valid' || s.kind === 'nonce-gap', 'safety');
    }
    for (const k of TX_KINDS) expect(w.counts.byKind[k], k).toBeGreaterThan(0);
    expect(w.pending()).toEqual([]);
  });

  it('the liveness phase sends from its own accounts; each valid transfer a node took is pending until committed', async () => {
    const f = await fixture();
    const w = new TxWorkload(f.chain, new Rng(5));
    const first = f.chain.accounts.length - LIVENESS_SENDERS;
    const taken = [];
    for (let i = 0; i < 20; i++) {
      const s = w.next('liveness', () => 0);
      expect(s.sender).toBeGreaterThanOrEqual(first);
      expect(['valid', 'duplicate']).toContain(s.kind);
      const accepted = s.kind === 'valid';
      w.answered(s, accepted, 'liveness');
      if (accepted) taken.push(s);
    }
    expect(w.pending().length).toBe(new Set(taken.map((s) => s.hash)).size);
    // Nonces of one sender follow each other: none is skipped.
    for (let sender = first; sender < f.chain.accounts.length; sender++) {
      const ns = taken.filter((s) => s.sender === sender).map((s) => s.nonce);
      expect(ns).toEqual(ns.map((_, i) => i));
    }
    for (const s of taken) w.committed(s.hash);
    expect(w.pending()).toEqual([]);
  });

  it('copies are only ever of transfers a node accepted (a copy of a refused one could take its nonce)', async () => {
    const f = await fixture();
    const w = new TxWorkload(f.chain, new Rng(17));
    const accepted = new Set<string>();
    let copies = 0;
    for (let i = 0; i < 200; i++) {
      const s = w.next(i % 2 === 0 ? 'safety' : 'liveness', () => 0);
      if (s.kind === 'duplicate') {
        expect(accepted.has(s.hash)).toBe(true);
        copies++;
        w.answered(s, false, 'safety');
        continue;
      }
      // Every other valid transfer is refused.
      const take = s.kind === 'valid' && i % 4 < 2;
      if (take) accepted.add(s.hash);
      w.answered(s, take, i % 2 === 0 ? 'safety' : 'liveness');
    }
    expect(copies).toBeGreaterThan(0);
  });

  it('a valid transfer no node took gives its nonce back', async () => {
    const f = await fixture();
    const w = new TxWorkload(f.chain, new Rng(11));
    let refused: number | undefined;
    for (let i = 0; i < 50 && refused === undefined; i++) {
      const s = w.next('liveness', () => 0);
      if (s.kind !== 'valid') continue;
      w.answered(s, false, 'liveness');
      refused = s.sender;
      const again = w.next('liveness', () => 0);
      if (again.sender === s.sender && again.kind === 'valid') expect(again.nonce).toBe(s.nonce);
    }
    expect(refused).toBeDefined();
  });

  it('in a run, transactions flow through the mempools into blocks, and every valid one of the liveness phase is committed', async () => {
    const r = await runSimulation({ seed: 6, heights: 6 });
    expect(r.failure).toBeUndefined();
    expect(r.stats.txs.accepted).toBeGreaterThan(0);
    expect(r.stats.txs.committed).toBeGreaterThan(0);
    expect(r.stats.txs.committed).toBeLessThanOrEqual(r.stats.txs.accepted);
  });
});
