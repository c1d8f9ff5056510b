import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { describe, expect, it } from 'vitest';
import { addr, key, MIN_FEE, OPERATORS, openLedger, runBlock, transfer, VALIDATOR_KEYS } from './helpers.js';

const alice = key(10);
const bob = key(11);

async function supplyOf(
  ledgerAccounts: Uint8Array[],
  ledger: Awaited<ReturnType<typeof openLedger>>['ledger'],
) {
  let total = 0n;
  for (const a of ledgerAccounts) total += ledger.account(a).balance;
  for (const v of ledger.validators()) total += v.bondedStake;
  return total;
}

describe('fees', () => {
  it('go to the operator account of the block proposer', async () => {
    const { ledger } = await openLedger();
    const proposer = (VALIDATOR_KEYS[2] as KeyPair).publicKey;
    const operator = addr(OPERATORS[2] as KeyPair);
    const before = ledger.account(operator).balance;
    await runBlock(
      ledger,
      [
        transfer(alice, addr(bob), 1n, { nonce: 0, fee: 1_500n }),
        transfer(bob, addr(alice), 1n, { nonce: 0, fee: 2_500n }),
      ],
      { proposer: addressFromPublicKey(proposer) },
    );
    expect(ledger.account(operator).balance).toBe(before + 4_000n);
  });

  it('include the fees of failed transactions, never of rejected ones', async () => {
    const { ledger } = await openLedger();
    const operator = addr(OPERATORS[0] as KeyPair);
    const before = ledger.account(operator).balance;
    await runBlock(ledger, [
      transfer(alice, addr(bob), 10n ** 15n, { nonce: 0 }), // failed: fee charged
      transfer(alice, addr(bob), 1n, { nonce: 5 }), // rejected: bad nonce
    ]);
    expect(ledger.account(operator).balance).toBe(before + MIN_FEE);
  });

  it('go to the proposer address itself when it is not a known validator', async () => {
    const { ledger } = await openLedger();
    const unknown = new Uint8Array(20).fill(9);
    await runBlock(ledger, [transfer(alice, addr(bob), 1n, { nonce: 0 })], { proposer: unknown });
    expect(ledger.account(unknown).balance).toBe(MIN_FEE);
  });

  it('move money but never create or destroy it (supply is conserved without slashing)', async () => {
    const { ledger } = await openLedger();
    const accounts = [...OPERATORS, alice, bob, key(12), key(70)].map(addr);
    const before = await supplyOf(accounts, ledger);
    await runBlock(ledger, [
      transfer(alice, addr(key(70)), 12_345n, { nonce: 0, fee: 3_000n }),
      transfer(bob, addr(alice), 10n ** 15n, { nonce: 0 }),
    ]);
    await runBlock(ledger, [transfer(key(70), addr(bob), 1_000n, { nonce: 0 })]);
    expect(await supplyOf(accounts, ledger)).toBe(before);
  });
});
