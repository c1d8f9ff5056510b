import { addressFromPublicKey } from '@synod/crypto';
import { createMemoryKvStore } from '@synod/storage';
import { compareBytes, isSynodError, SynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Ledger, ledgerAppState, POWER_REDUCTION, parseLedgerAppState } from '../src/index.js';
import { addr, genesisRequest, key, OPERATORS, openLedger, VALIDATOR_KEYS } from './helpers.js';

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    if (isSynodError(err, 'GENESIS_INVALID')) return (err.details?.problems as string[]) ?? [err.message];
    throw err;
  }
  return [];
}

describe('initChain (genesis)', () => {
  it('reports an empty app before initChain, the genesis app hash after', async () => {
    const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
    const before = await ledger.info();
    expect(before.lastBlockHeight).toBe(0);
    expect(before.lastBlockAppHash.length).toBe(0);
    const res = await ledger.initChain(genesisRequest());
    const after = await ledger.info();
    expect(after.lastBlockHeight).toBe(0);
    expect(after.lastBlockAppHash).toEqual(res.appHash);
    expect(res.appHash.length).toBe(32);
  });

  it('derives the validator set from the genesis self-bonds (power = stake / POWER_REDUCTION), sorted by address', async () => {
    const { ledger } = await openLedger({}, null);
    const res = await ledger.initChain(genesisRequest());
    const expected = VALIDATOR_KEYS.map((v, i) => ({ pubKey: v.publicKey, power: 10 + i })).sort((a, b) =>
      compareBytes(addressFromPublicKey(a.pubKey), addressFromPublicKey(b.pubKey)),
    );
    expect(res.validators).toEqual(expected);
    const v0 = ledger.validator((VALIDATOR_KEYS[0] as { publicKey: Uint8Array }).publicKey);
    expect(v0?.bondedStake).toBe(10n * POWER_REDUCTION);
    expect(v0?.operator).toEqual(addr(OPERATORS[0] as never));
  });

  it('adopts the genesis validators (stake = power × POWER_REDUCTION, operator = own key) when appState has none', async () => {
    const req = genesisRequest({ app: { accounts: [{ address: addr(key(10)), balance: 5n }] } });
    const { ledger } = await openLedger({}, null);
    const res = await ledger.initChain(req);
    expect(res.validators?.map((u) => u.power)).toEqual([10, 10, 10, 10]);
    const pk = (VALIDATOR_KEYS[1] as { publicKey: Uint8Array }).publicKey;
    expect(ledger.validator(pk)?.operator).toEqual(addressFromPublicKey(pk));
    expect(ledger.parameters()?.app.minFee).toBe(1_000n);
  });

  it('gives the same app hash whatever the order of accounts and validators in genesis', async () => {
    const base = genesisRequest();
    const state = base.appState as { accounts: unknown[]; validators: unknown[] };
    const shuffled = {
      ...state,
      accounts: [...state.accounts].reverse(),
      validators: [...state.validators].reverse(),
    };
    const a = await (await openLedger({}, null)).ledger.initChain(base);
    const b = await (await openLedger({}, null)).ledger.initChain({ ...base, appState: shuffled });
    expect(b.appHash).toEqual(a.appHash);
    expect(b.validators).toEqual(a.validators);
    const c = await (await openLedger({}, null)).ledger.initChain({ ...base, chainId: 'other-chain' });
    expect(c.appHash).not.toEqual(a.appHash);
  });

  it('rejects initChain on an initialized ledger', async () => {
    const { ledger } = await openLedger();
    await expect(ledger.initChain(genesisRequest())).rejects.toThrow(SynodError);
  });

  it('lists every problem of an invalid appState', () => {
    const problems = problemsOf(() =>
      parseLedgerAppState({
        minFee: -1,
        extra: true,
        maxTxBytes: 10,
        accounts: [
          { address: 'zz', balance: '1' },
          { address: '00'.repeat(20), balance: '1.5' },
          { address: '11'.repeat(20), balance: '1' },
          { address: '11'.repeat(20), balance: '2' },
        ],
        validators: [{ pubKey: '22'.repeat(32), stake: '999999' }, { pubKey: 'ab' }],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'appState.extra is not a known field',
        'appState.minFee must be a decimal string of a uint64',
        'appState.maxTxBytes must be an integer in [128, 1048576]',
        'appState.accounts[0].address must be 20 bytes of hex',
        'appState.accounts[1].balance must be a decimal string of a uint64',
        `appState.accounts[3].address ${'11'.repeat(20)} is a duplicate`,
        'appState.validators[0].stake must be at least 1000000 (1 voting power)',
        'appState.validators[1].pubKey must be 32 bytes of hex',
        'appState.validators[1].stake must be a decimal string of a uint64',
      ]),
    );
    expect(problemsOf(() => parseLedgerAppState([]))).toEqual(['appState must be a JSON object']);
  });

  it('rejects a total supply above 2^64 - 1', () => {
    const max = ((1n << 64n) - 1n).toString();
    const problems = problemsOf(() =>
      parseLedgerAppState({
        accounts: [
          { address: '11'.repeat(20), balance: max },
          { address: '22'.repeat(20), balance: '1' },
        ],
      }),
    );
    expect(problems).toEqual(['total supply (balances + stakes) exceeds 2^64 - 1']);
  });

  it('rejects invalid chain ids, params, and a genesis without voting power', async () => {
    const { ledger } = await openLedger({}, null);
    await expect(ledger.initChain(genesisRequest({ chainId: 'bad chain id!' }))).rejects.toThrow(
      /invalid chain id/,
    );
    const badParams = {
      ...genesisRequest().consensusParams,
      staking: { unbondingBlocks: 1, maxValidators: 0 },
    };
    await expect(ledger.initChain(genesisRequest({ consensusParams: badParams }))).rejects.toThrow(
      /maxValidators/,
    );
    await expect(ledger.initChain(genesisRequest({ validators: [], app: { accounts: [] } }))).rejects.toThrow(
      /no genesis validator has voting power/,
    );
    // Nothing was written by the failed attempts.
    expect((await ledger.info()).lastBlockAppHash.length).toBe(0);
  });

  it('round-trips appState through ledgerAppState / parseLedgerAppState', () => {
    const json = ledgerAppState({
      minFee: 7n,
      maxTxBytes: 2048,
      accounts: [{ address: addr(key(1)), balance: 42n }],
      validators: [{ pubKey: key(2).publicKey, stake: 3n * POWER_REDUCTION }],
    });
    const g = parseLedgerAppState(JSON.parse(JSON.stringify(json)));
    expect(g.minFee).toBe(7n);
    expect(g.maxTxBytes).toBe(2048);
    expect(g.accounts).toEqual([{ address: addr(key(1)), balance: 42n }]);
    expect(g.validators[0]?.operator).toEqual(addr(key(2)));
  });
});
