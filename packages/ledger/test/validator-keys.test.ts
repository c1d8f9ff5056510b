import { fromHex, toHex } from '@synod/crypto';
import { isSynodError, parseGenesis } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { POWER_REDUCTION, parseLedgerAppState } from '../src/index.js';
import { addr, bond, key, MIN_FEE, openLedger, runBlock } from './helpers.js';

// From /work/shared/vectors/ed25519/ed25519-speccheck-cases.json: case 0's A is
// a small-order point, case 2's A has a torsion component (mixed order).
const SMALL_ORDER = fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa');
const MIXED_ORDER = fromHex('f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43');
const IDENTITY = fromHex(`01${'00'.repeat(31)}`);
const NON_CANONICAL = fromHex(`ed${'ff'.repeat(30)}7f`); // y = p

const alice = key(10);
const BAL = 1_000_000_000n;

function genesisProblems(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    if (isSynodError(err, 'GENESIS_INVALID')) return (err.details?.problems as string[]) ?? [err.message];
    throw err;
  }
  return [];
}

describe('validator keys: small-order and non-canonical keys never enter the set (#11.22)', () => {
  it('a bond creating a validator with such a key fails with TX_BAD_VALIDATOR_KEY (fee charged, no validator)', async () => {
    const { ledger } = await openLedger();
    const bad = [SMALL_ORDER, MIXED_ORDER, IDENTITY, NON_CANONICAL];
    const r = await runBlock(
      ledger,
      bad.map((pk, nonce) => bond(alice, pk, POWER_REDUCTION, { nonce })),
    );
    expect(r.txResults.map((x) => x.code)).toEqual(bad.map(() => 'TX_BAD_VALIDATOR_KEY'));
    for (const pk of bad) expect(ledger.validator(pk)).toBeUndefined();
    expect(ledger.account(addr(alice))).toEqual({ balance: BAL - 4n * MIN_FEE, nonce: 4 });
    expect(r.validatorUpdates).toEqual([]);
    // An honest key bonds as before.
    const good = key(301).publicKey;
    const ok = await runBlock(ledger, [bond(alice, good, POWER_REDUCTION, { nonce: 4 })]);
    expect(ok.txResults[0]?.code).toBe('OK');
    expect(ledger.validator(good)).toBeDefined();
  });

  it("the ledger's genesis appState refuses such a validator key", () => {
    const problems = genesisProblems(() =>
      parseLedgerAppState({
        validators: [{ pubKey: toHex(SMALL_ORDER), stake: POWER_REDUCTION.toString() }],
      }),
    );
    expect(problems).toEqual(['appState.validators[0].pubKey: public key is a small-order point']);
  });

  it('genesis.json validation (parseGenesis) refuses such a validator key', () => {
    const json = {
      chainId: 'keys-test',
      genesisTime: '2024-01-01T00:00:00.000Z',
      initialHeight: 1,
      validators: [
        { pubKey: toHex(key(5).publicKey), power: 10 },
        { pubKey: toHex(MIXED_ORDER), power: 10 },
      ],
    };
    const problems = genesisProblems(() => parseGenesis(json));
    expect(problems).toEqual(['validators[1].pubKey: public key has a small-order (torsion) component']);
  });
});
