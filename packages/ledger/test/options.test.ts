import type { Counter, Gauge, Histogram, Labels, Metrics } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/index.js';
import { addr, genesisRequest, key, openLedger, queryJson, runBlock, transfer } from './helpers.js';

const alice = key(10);
const bob = key(11);

function recordingMetrics() {
  const counts = new Map<string, number>();
  const gauges = new Map<string, number>();
  const metrics: Metrics = {
    counter: (o): Counter => ({
      inc: (labels?: Labels, v = 1) => {
        const k = `${o.name}${JSON.stringify(labels ?? {})}`;
        counts.set(k, (counts.get(k) ?? 0) + v);
      },
    }),
    gauge: (o): Gauge => ({
      set: (v: number) => gauges.set(o.name, v),
      inc: () => undefined,
      dec: () => undefined,
    }),
    histogram: (): Histogram => ({ observe: () => undefined }),
  };
  return { metrics, counts, gauges };
}

describe('options and edges', () => {
  it('starts at initialHeight (info reports 0 before the first block)', async () => {
    const { ledger } = await openLedger({}, genesisRequest({ initialHeight: 100 }));
    expect((await ledger.info()).lastBlockHeight).toBe(0);
    await expect(
      ledger.finalizeBlock({
        height: 1,
        timeMs: 1,
        hash: new Uint8Array(32),
        proposerAddress: new Uint8Array(20),
        txs: [],
        misbehavior: [],
        decidedLastCommit: { round: 0, votes: [] },
      }),
    ).rejects.toThrow(/expected 100/);
    await ledger.finalizeBlock({
      height: 100,
      timeMs: 1,
      hash: new Uint8Array(32),
      proposerAddress: new Uint8Array(20),
      txs: [transfer(alice, addr(bob), 1n, { nonce: 0 })],
      misbehavior: [],
      decidedLastCommit: { round: 0, votes: [] },
    });
    await ledger.commit();
    expect((await ledger.info()).lastBlockHeight).toBe(100);
    expect((await queryJson<{ nonce: number }>(ledger, 'account', addr(alice), 100)).value.nonce).toBe(1);
    expect((await queryJson(ledger, 'params', new Uint8Array(0))).value).toMatchObject({
      initialHeight: 100,
    });
  });

  it('commit returns retainHeight from retainBlocks (0 = keep every block)', async () => {
    const keepAll = (await openLedger()).ledger;
    const keep2 = (await openLedger({ retainBlocks: 2 })).ledger;
    for (const l of [keepAll, keep2]) for (let i = 0; i < 3; i++) await runBlock(l, []);
    await keepAll.finalizeBlock({
      height: 4,
      timeMs: 4,
      hash: new Uint8Array(32),
      proposerAddress: new Uint8Array(20),
      txs: [],
      misbehavior: [],
      decidedLastCommit: { round: 0, votes: [] },
    });
    expect(await keepAll.commit()).toEqual({ retainHeight: 0 });
    await keep2.finalizeBlock({
      height: 4,
      timeMs: 4,
      hash: new Uint8Array(32),
      proposerAddress: new Uint8Array(20),
      txs: [],
      misbehavior: [],
      decidedLastCommit: { round: 0, votes: [] },
    });
    expect(await keep2.commit()).toEqual({ retainHeight: 3 });
  });

  it('the history floor survives a restart', async () => {
    const { ledger, kv } = await openLedger({ historyBlocks: 2 });
    for (let n = 0; n < 5; n++) await runBlock(ledger, [transfer(alice, addr(bob), 1n, { nonce: n })]);
    const again = await Ledger.open({ kv, historyBlocks: 2 });
    expect((await again.query({ path: 'account', data: addr(bob), height: 3 })).code).toBe(
      'QUERY_HEIGHT_PRUNED',
    );
    expect((await again.query({ path: 'account', data: addr(bob), height: 4 })).code).toBe('OK');
  });

  it('counts transactions by code and stage, and reports the height', async () => {
    const m = recordingMetrics();
    const { ledger } = await openLedger({ metrics: m.metrics });
    await runBlock(ledger, [
      transfer(alice, addr(bob), 1n, { nonce: 0 }),
      Uint8Array.of(1),
      transfer(alice, addr(bob), 10n ** 15n, { nonce: 1 }),
    ]);
    expect(m.counts.get('synod_ledger_txs_total{"code":"OK","stage":"ok"}')).toBe(1);
    expect(m.counts.get('synod_ledger_txs_total{"code":"TX_MALFORMED","stage":"rejected"}')).toBe(1);
    expect(m.counts.get('synod_ledger_txs_total{"code":"TX_INSUFFICIENT_FUNDS","stage":"failed"}')).toBe(1);
    expect(m.gauges.get('synod_ledger_height')).toBe(1);
  });

  it('verifySignature replaces the Ed25519 check of transaction signatures (and only answers it)', async () => {
    const calls: Uint8Array[] = [];
    const refuse = (_pk: Uint8Array, message: Uint8Array): boolean => {
      calls.push(message);
      return false;
    };
    const { ledger } = await openLedger({ verifySignature: refuse });
    const tx = transfer(alice, addr(bob), 1n, { nonce: 0 });
    expect((await ledger.checkTx(tx, 'new')).code).toBe('TX_BAD_SIGNATURE');
    const res = await runBlock(ledger, [tx]);
    expect(res.txResults[0]?.code).toBe('TX_BAD_SIGNATURE');
    expect(calls.length).toBe(2);
    // The default is the real check: the same transaction is valid.
    const { ledger: real } = await openLedger();
    expect((await runBlock(real, [tx])).txResults[0]?.code).toBe('OK');
    // A verifier that says yes is trusted: an answer is cached, and reused in finalizeBlock.
    let asked = 0;
    const { ledger: counted } = await openLedger({
      verifySignature: () => {
        asked++;
        return true;
      },
    });
    expect((await counted.checkTx(tx, 'new')).code).toBe('OK');
    expect((await runBlock(counted, [tx])).txResults[0]?.code).toBe('OK');
    expect(asked).toBe(1);
  });
});
