import { describe, expect, it } from 'vitest';
import { addr, key, openLedger, runBlock, transfer } from './helpers.js';

describe('smoke', () => {
  it('runs a transfer', async () => {
    const { ledger } = await openLedger();
    const before = ledger.account(addr(key(10))).balance;
    const r = await runBlock(ledger, [transfer(key(10), addr(key(20)), 5n, { nonce: 0 })]);
    expect(r.txResults[0]?.code).toBe('OK');
    expect(ledger.account(addr(key(20))).balance).toBe(5n);
    expect(ledger.account(addr(key(10))).balance).toBe(before - 5n - 1000n);
  });
});
