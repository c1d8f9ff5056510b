import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { addr, genesisRequest, key, openLedger, runBlock, TEST_PARAMS, transfer } from './helpers.js';

const alice = key(10);
const bob = key(11);
const proposer = new Uint8Array(20).fill(1);

const prep = (txs: Uint8Array[], maxBytes = 1_000_000, maxGas = 10_000_000) => ({
  height: 1,
  timeMs: 1,
  proposerAddress: proposer,
  maxBytes,
  maxGas,
  txs,
});
const proc = (txs: Uint8Array[]) => ({
  height: 1,
  timeMs: 1,
  proposerAddress: proposer,
  hash: new Uint8Array(32),
  txs,
  misbehavior: [],
});

describe('prepareProposal', () => {
  it('keeps the valid transactions in order and drops the ones that would be rejected or fail', async () => {
    const { ledger } = await openLedger();
    const ok0 = transfer(alice, addr(bob), 1n, { nonce: 0 });
    const ok1 = transfer(alice, addr(bob), 1n, { nonce: 1 });
    const okBob = transfer(bob, addr(alice), 1n, { nonce: 0 });
    const gap = transfer(alice, addr(bob), 1n, { nonce: 5 });
    const failing = transfer(bob, addr(alice), 10n ** 15n, { nonce: 1 });
    const garbage = Uint8Array.of(9, 9, 9);
    const { txs } = await ledger.prepareProposal(prep([ok0, garbage, gap, ok1, failing, okBob]));
    expect(txs).toEqual([ok0, ok1, okBob]);
    expect((await ledger.info()).lastBlockHeight).toBe(0); // nothing applied
  });

  it('respects maxBytes and maxGas', async () => {
    const { ledger } = await openLedger();
    const txs = [0, 1, 2, 3].map((n) => transfer(alice, addr(bob), 1n, { nonce: n, gasLimit: 10_000 }));
    const size = (txs[0] as Uint8Array).length + 4;
    expect((await ledger.prepareProposal(prep(txs, size * 2))).txs).toHaveLength(2);
    expect((await ledger.prepareProposal(prep(txs, 1_000_000, 30_000))).txs).toHaveLength(3);
  });
});

describe('processProposal', () => {
  it('accepts a block of valid transactions, and one whose message fails but pays its fee', async () => {
    const { ledger } = await openLedger();
    const failing = transfer(bob, addr(alice), 10n ** 15n, { nonce: 0 });
    expect(await ledger.processProposal(proc([transfer(alice, addr(bob), 1n, { nonce: 0 }), failing]))).toBe(
      'accept',
    );
    expect(await ledger.processProposal(proc([]))).toBe('accept');
  });

  it('rejects a block with an undecodable, mis-signed, wrongly-nonced or unaffordable transaction', async () => {
    const { ledger } = await openLedger();
    const good = transfer(alice, addr(bob), 1n, { nonce: 0 });
    const badSig = new Uint8Array(good);
    badSig[badSig.length - 1] = (badSig[badSig.length - 1] as number) ^ 1;
    const cases = [
      Uint8Array.of(1),
      badSig,
      transfer(alice, addr(bob), 1n, { nonce: 2 }),
      transfer(key(77), addr(bob), 1n, { nonce: 0 }),
      transfer(alice, addr(bob), 1n, { nonce: 0, chainId: 'elsewhere' }),
    ];
    // The verdict says which transaction broke which rule.
    const reasons = [
      /^tx 1: TX_MALFORMED/,
      /^tx 1: TX_BAD_SIGNATURE/,
      /^tx 1: TX_BAD_NONCE/,
      /^tx 1: TX_INSUFFICIENT_FUNDS/,
      /^tx 1: TX_WRONG_CHAIN/,
    ];
    for (const [i, bad] of cases.entries())
      expect(await ledger.processProposal(proc([good, bad]))).toEqual({
        reject: expect.stringMatching(reasons[i]!),
      });
    // A duplicate is a wrong nonce the second time.
    expect(await ledger.processProposal(proc([good, good]))).toEqual({
      reject: expect.stringMatching(/^tx 1: TX_BAD_NONCE/),
    });
  });

  it('rejects blocks over the gas or byte limits of the consensus params', async () => {
    const params = {
      ...TEST_PARAMS,
      block: { ...DEFAULT_CONSENSUS_PARAMS.block, maxGas: 150_000, maxBytes: 2_000_000 },
    };
    const { ledger } = await openLedger({}, genesisRequest({ consensusParams: params }));
    const twice = [0, 1].map((n) => transfer(alice, addr(bob), 1n, { nonce: n, gasLimit: 100_000 }));
    expect(await ledger.processProposal(proc(twice.slice(0, 1)))).toBe('accept');
    expect(await ledger.processProposal(proc(twice))).toEqual({ reject: 'transactions exceed block.maxGas' });
    const many = Array.from({ length: 9_000 }, () => new Uint8Array(250));
    expect(await ledger.processProposal(proc(many))).toEqual({
      reject: 'transactions exceed block.maxBytes',
    });
  });

  it('agrees with what finalizeBlock then does', async () => {
    const { ledger } = await openLedger();
    const txs = [
      transfer(alice, addr(bob), 1n, { nonce: 0 }),
      transfer(bob, addr(alice), 10n ** 15n, { nonce: 0 }),
    ];
    expect(await ledger.processProposal(proc(txs))).toBe('accept');
    const r = await runBlock(ledger, txs);
    expect(r.txResults.map((x) => x.code)).toEqual(['OK', 'TX_INSUFFICIENT_FUNDS']);
  });
});
