import { type KeyPair, toHex } from '@synod/crypto';
import type { TxMsg } from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEDGER_TX_CODES, type Ledger, POWER_REDUCTION, type UnbondingView } from '../src/index.js';
import { addr, key, OPERATORS, openLedger, runBlock, signedTx, transfer, VALIDATOR_KEYS } from './helpers.js';

const codes: readonly string[] = LEDGER_TX_CODES;

/** Two identical ledgers: one gets the block, the twin an empty block. */
async function twins() {
  return [(await openLedger()).ledger, (await openLedger()).ledger] as const;
}

/** Balances + bonded stake + stake in the unbonding queue. */
async function supply(ledger: Ledger, accounts: readonly Uint8Array[]): Promise<bigint> {
  let total = 0n;
  for (const a of accounts) total += ledger.account(a).balance;
  for (const v of ledger.validators()) total += v.bondedStake;
  const q = await ledger.query({ path: 'unbonding', data: new Uint8Array(0) });
  const unbonding = JSON.parse(new TextDecoder().decode(q.value)) as UnbondingView;
  for (const e of unbonding.entries) total += BigInt(e.amount);
  return total;
}

describe('properties: transactions are bad input from strangers', () => {
  it('random bytes never throw, never pass, never change the state', async () => {
    const [ledger, twin] = await twins();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 1500 }), { minLength: 1, maxLength: 6 }),
        async (txs) => {
          for (const tx of txs) {
            const r = await ledger.checkTx(tx, 'new');
            expect(codes).toContain(r.code);
            expect(r.code).not.toBe('OK');
          }
          const a = await runBlock(ledger, txs);
          const b = await runBlock(twin, []);
          for (const r of a.txResults) {
            expect(r.code).not.toBe('OK');
            expect(codes).toContain(r.code);
            expect(r.gasUsed).toBe(0);
          }
          expect(toHex(a.appHash)).toBe(toHex(b.appHash));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a valid transaction with any byte changed is refused and changes nothing', async () => {
    const [ledger, twin] = await twins();
    const alice = key(10);
    let nonce = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const tx = transfer(alice, addr(key(11)), 5n, { nonce });
        const mutated = new Uint8Array(tx);
        const i = at % tx.length;
        mutated[i] = (mutated[i] as number) ^ mask;
        const r = await ledger.checkTx(mutated, 'new');
        expect(r.code).not.toBe('OK');
        const a = await runBlock(ledger, [mutated]);
        const b = await runBlock(twin, []);
        expect(a.txResults[0]?.code).not.toBe('OK');
        expect(toHex(a.appHash)).toBe(toHex(b.appHash));
        // The untouched transaction still works, on both (keeps them in step).
        expect((await runBlock(ledger, [tx])).txResults[0]?.code).toBe('OK');
        expect((await runBlock(twin, [tx])).txResults[0]?.code).toBe('OK');
        nonce++;
      }),
      { numRuns: 80 },
    );
  });

  it('validly signed transactions with arbitrary fields never throw and never create money', async () => {
    const signers = [key(10), key(11), key(12), ...OPERATORS, key(800)];
    const accounts = [...signers, key(801)].map(addr);
    const pubKeys = [...VALIDATOR_KEYS.map((v) => v.publicKey), key(802).publicKey];
    const amount = fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: 1n, max: 10n * POWER_REDUCTION }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    );
    const msg: fc.Arbitrary<TxMsg> = fc.oneof(
      fc.record({ kind: fc.constant('transfer' as const), to: fc.constantFrom(...accounts), amount }),
      fc.record({ kind: fc.constant('bond' as const), validatorPubKey: fc.constantFrom(...pubKeys), amount }),
      fc.record({
        kind: fc.constant('unbond' as const),
        validatorPubKey: fc.oneof(fc.constantFrom(...pubKeys), fc.constant(pubKeys[0] as Uint8Array)),
        amount,
      }),
      fc.record({ kind: fc.constant('unjail' as const), validatorPubKey: fc.constantFrom(...pubKeys) }),
    );
    const tx = fc.record({
      signer: fc.oneof(fc.nat({ max: signers.length - 1 }), fc.constant(3)), // 3 = OPERATORS[0]
      nonce: fc.oneof(fc.constant(0), fc.nat({ max: 3 })),
      fee: fc.oneof(fc.constant(1_000n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
      gasLimit: fc.oneof(fc.constant(100_000), fc.nat()),
      msg,
    });
    const okCodes: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(tx, { maxLength: 8 }), async (spec) => {
        const { ledger } = await openLedger();
        const before = await supply(ledger, accounts);
        // Each run starts with one valid unbond, so the unbonding queue is always part of the check.
        const opening = signedTx(
          OPERATORS[0] as KeyPair,
          { kind: 'unbond', validatorPubKey: pubKeys[0] as Uint8Array, amount: POWER_REDUCTION },
          { nonce: 0 },
        );
        const bytes = [
          opening,
          ...spec.map((s) =>
            signedTx(signers[s.signer] as KeyPair, s.msg, {
              nonce: s.nonce,
              fee: s.fee,
              gasLimit: s.gasLimit,
            }),
          ),
        ];
        for (const b of bytes) expect(codes).toContain((await ledger.checkTx(b, 'new')).code);
        // Fees go to an address inside `accounts` (operator 0 proposes), so supply is conserved.
        const r = await runBlock(ledger, bytes);
        for (const x of r.txResults) expect(codes).toContain(x.code);
        expect(await supply(ledger, accounts)).toBe(before);
        okCodes.push(...r.txResults.flatMap((x) => [x.code, ...x.events.map((e) => e.type)]));
      }),
      { numRuns: 150 },
    );
    // The generator reaches the interesting outcomes, not only rejections.
    expect(okCodes).toContain('OK');
    expect(okCodes).toContain('TX_INSUFFICIENT_FUNDS');
    expect(okCodes).toContain('unbond');
  });
});
