import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { describe, expect, it } from 'vitest';
import {
  type AccountView,
  type ParamsView,
  POWER_REDUCTION,
  type UnbondingView,
  type ValidatorSetView,
  type ValidatorView,
} from '../src/index.js';
import {
  addr,
  bond,
  key,
  MIN_FEE,
  OPERATORS,
  openLedger,
  queryJson,
  runBlock,
  transfer,
  unbond,
  VALIDATOR_KEYS,
} from './helpers.js';

const alice = key(10);
const bob = key(11);
const M = POWER_REDUCTION;
const BAL = 1_000_000_000n;

describe('queries', () => {
  it('answer account queries for the latest and for past heights', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, [transfer(alice, addr(bob), 1n, { nonce: 0 })]); // 1
    await runBlock(ledger, [transfer(alice, addr(bob), 2n, { nonce: 1 })]); // 2
    await runBlock(ledger, []); // 3
    const latest = await queryJson<AccountView>(ledger, 'account', addr(bob));
    expect(latest).toMatchObject({
      code: 'OK',
      height: 3,
      value: { balance: (BAL + 3n).toString(), nonce: 0 },
    });
    const at1 = await queryJson<AccountView>(ledger, 'account', addr(bob), 1);
    expect(at1).toMatchObject({
      code: 'OK',
      height: 1,
      value: { address: Buffer.from(addr(bob)).toString('hex'), balance: (BAL + 1n).toString() },
    });
    const alice1 = await queryJson<AccountView>(ledger, 'account', addr(alice), 1);
    expect(alice1.value).toMatchObject({ nonce: 1, balance: (BAL - 1n - MIN_FEE).toString() });
    const nobody = await queryJson<AccountView>(ledger, 'account', new Uint8Array(20).fill(3), 2);
    expect(nobody).toMatchObject({ code: 'OK', value: { balance: '0', nonce: 0 } });
    expect(nobody.log).toMatch(/does not exist/);
  });

  it('answer validator queries by public key or address, with the voting power at that height', async () => {
    const { ledger } = await openLedger();
    const vk = VALIDATOR_KEYS[0] as KeyPair;
    await runBlock(ledger, [unbond(OPERATORS[0] as KeyPair, vk.publicKey, 3n * M, { nonce: 0 })]); // 1
    const now = await queryJson<ValidatorView>(ledger, 'validator', vk.publicKey);
    expect(now.value).toMatchObject({
      bondedStake: (7n * M).toString(),
      votingPower: 7,
      jailed: false,
      tombstoned: false,
    });
    const byAddress = await queryJson<ValidatorView>(ledger, 'validator', addressFromPublicKey(vk.publicKey));
    expect(byAddress.value).toEqual(now.value);
    await runBlock(ledger, [bond(alice, key(400).publicKey, 2n * M, { nonce: 0 })]); // 2
    const vs1 = await queryJson<ValidatorSetView>(ledger, 'validators', new Uint8Array(0), 1);
    const vs2 = await queryJson<ValidatorSetView>(ledger, 'validators', new Uint8Array(0), 2);
    expect(vs1.value.validators).toHaveLength(4);
    expect(vs1.value.totalPower).toBe(7 + 11 + 12 + 13);
    expect(vs2.value.validators).toHaveLength(5);
    expect(vs2.value).toMatchObject({ height: 2, effectiveHeight: 4, totalPower: 45 });
    expect((await queryJson(ledger, 'validator', key(400).publicKey, 1)).code).toBe('QUERY_NOT_FOUND');
  });

  it('answer params and unbonding queries; deleted state answers as absent after the deletion only', async () => {
    const { ledger } = await openLedger();
    const p = await queryJson<ParamsView>(ledger, 'params', new Uint8Array(0));
    expect(p.value).toMatchObject({
      chainId: 'synod-test',
      minFee: '1000',
      maxTxBytes: 1024,
      powerReduction: '1000000',
    });
    expect(p.value.consensusParams.staking.unbondingBlocks).toBe(3);
    const op = OPERATORS[1] as KeyPair;
    await runBlock(ledger, [unbond(op, (VALIDATOR_KEYS[1] as KeyPair).publicKey, M, { nonce: 0 })]); // 1 → release at 4
    for (let i = 0; i < 3; i++) await runBlock(ledger, []); // 2..4
    const at3 = await queryJson<UnbondingView>(ledger, 'unbonding', addr(op), 3);
    expect(at3.value.entries).toHaveLength(1);
    const at4 = await queryJson<UnbondingView>(ledger, 'unbonding', addr(op), 4);
    expect(at4.value.entries).toHaveLength(0);
    const other = await queryJson<UnbondingView>(ledger, 'unbonding', addr(alice), 3);
    expect(other.value.entries).toHaveLength(0);
  });

  it('answer bad requests with clear codes and never throw', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, []);
    expect((await ledger.query({ path: 'nope', data: new Uint8Array(0) })).code).toBe('QUERY_UNKNOWN_PATH');
    expect((await ledger.query({ path: 'account', data: new Uint8Array(3) })).code).toBe('QUERY_BAD_DATA');
    expect((await ledger.query({ path: 'validator', data: new Uint8Array(7) })).code).toBe('QUERY_BAD_DATA');
    expect((await ledger.query({ path: 'unbonding', data: new Uint8Array(5) })).code).toBe('QUERY_BAD_DATA');
    expect((await ledger.query({ path: 'account', data: new Uint8Array(20), height: 5 })).code).toBe(
      'QUERY_HEIGHT_UNAVAILABLE',
    );
    expect((await ledger.query({ path: 'account', data: new Uint8Array(20), height: -1 })).code).toBe(
      'QUERY_HEIGHT_UNAVAILABLE',
    );
    expect((await ledger.query({ path: 'account', data: new Uint8Array(20), height: 1.5 })).code).toBe(
      'QUERY_HEIGHT_UNAVAILABLE',
    );
    const notBytes = { path: 'account', data: 'x' as unknown as Uint8Array };
    expect((await ledger.query(notBytes)).code).toBe('QUERY_BAD_DATA');
  });

  it('keep historyBlocks heights of history and prune the rest from the store', async () => {
    const { ledger, kv } = await openLedger({ historyBlocks: 3 });
    for (let n = 0; n < 8; n++) await runBlock(ledger, [transfer(alice, addr(bob), 1n, { nonce: n })]);
    const pruned = await ledger.query({ path: 'account', data: addr(bob), height: 5 });
    expect(pruned.code).toBe('QUERY_HEIGHT_PRUNED');
    expect(pruned.log).toMatch(/history kept from 6/);
    const kept = await queryJson<AccountView>(ledger, 'account', addr(bob), 6);
    expect(kept.value.balance).toBe((BAL + 6n).toString());
    // History entries of the three keys this workload rewrites each block stay bounded.
    const history = await kv.entries({ gte: Uint8Array.of(0x48), lt: Uint8Array.of(0x49) });
    const ofBob = history.filter((e) => Buffer.from(e.key.subarray(2, 22)).equals(Buffer.from(addr(bob))));
    expect(ofBob.length).toBeLessThanOrEqual(4);
  });

  it('before initChain answers QUERY_NOT_INITIALIZED', async () => {
    const { ledger } = await openLedger({}, null);
    expect((await ledger.query({ path: 'params', data: new Uint8Array(0) })).code).toBe(
      'QUERY_NOT_INITIALIZED',
    );
  });
});
