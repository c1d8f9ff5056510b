import { describe, expect, it } from 'vitest';
import { addr, key, openLedger, runBlock, transfer } from './helpers.js';

const alice = key(10); // genesis balance 1_000_000_000
const bob = key(11);
const FEE = 300_000_000n; // the balance pays three of these

describe('checkTx: a sender pays all its pending fees (#11.20)', () => {
  it('accepts future-nonce txs only while the balance covers every pending fee: not 65 slots for the price of one', async () => {
    const { ledger } = await openLedger();
    const codes: string[] = [];
    for (let nonce = 0; nonce <= 64; nonce++) {
      const tx = transfer(alice, addr(bob), 1n, { nonce, fee: FEE });
      codes.push((await ledger.checkTx(tx, 'new')).code);
    }
    expect(codes.slice(0, 3)).toEqual(['OK', 'OK', 'OK']);
    expect(codes.slice(3).every((c) => c === 'TX_INSUFFICIENT_FUNDS')).toBe(true);
    // The same nonce again (a replacement) is judged against the others only.
    expect((await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce: 2, fee: FEE }), 'new')).code).toBe(
      'OK',
    );
  });

  it('the check state restarts at each commit (the recheck refills it)', async () => {
    const { ledger } = await openLedger();
    for (let nonce = 0; nonce < 3; nonce++)
      await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce, fee: FEE }), 'new');
    expect((await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce: 3, fee: FEE }), 'new')).code).toBe(
      'TX_INSUFFICIENT_FUNDS',
    );
    await runBlock(ledger, [transfer(alice, addr(bob), 1n, { nonce: 0, fee: 1_000n })]);
    expect(
      (await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce: 1, fee: FEE }), 'recheck')).code,
    ).toBe('OK');
  });
});
