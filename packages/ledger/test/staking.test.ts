import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { compareBytes } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  maxPowerPerValidator,
  POWER_REDUCTION,
  powerOfStake,
  selectValidatorSet,
  type ValidatorRecord,
  type ValidatorSetView,
} from '../src/index.js';
import {
  addr,
  bond,
  genesisRequest,
  key,
  MIN_FEE,
  OPERATORS,
  openLedger,
  queryJson,
  runBlock,
  TEST_PARAMS,
  unbond,
  VALIDATOR_KEYS,
} from './helpers.js';

const alice = key(10);
const op0 = OPERATORS[0] as KeyPair;
const v0 = (VALIDATOR_KEYS[0] as KeyPair).publicKey;
const M = POWER_REDUCTION;

describe('staking', () => {
  it('voting power is floor(stake / POWER_REDUCTION), capped so the total stays exact', () => {
    expect(powerOfStake(0n, 100)).toBe(0);
    expect(powerOfStake(M - 1n, 100)).toBe(0);
    expect(powerOfStake(5n * M + 999n, 100)).toBe(5);
    expect(powerOfStake((1n << 64n) - 1n, 100)).toBe(maxPowerPerValidator(100));
  });

  it('selects the top maxValidators by power, ties by lower address, jailed and powerless excluded', () => {
    const rec = (i: number, stake: bigint, jailed = false): ValidatorRecord => {
      const pubKey = key(200 + i).publicKey;
      return {
        pubKey,
        address: addressFromPublicKey(pubKey),
        operator: new Uint8Array(20),
        bondedStake: stake,
        jailed,
        jailedUntilMs: 0,
        tombstoned: false,
      };
    };
    const all = [
      rec(0, 5n * M),
      rec(1, 7n * M),
      rec(2, 5n * M),
      rec(3, 9n * M, true),
      rec(4, M - 1n),
      rec(5, 5n * M),
    ];
    const set = selectValidatorSet(all, 3);
    expect(set.map((m) => m.power).sort()).toEqual([5, 5, 7]);
    // Of the three with power 5, the two lowest addresses win.
    const fives = [all[0], all[2], all[5]].map((r) => (r as ValidatorRecord).address).sort(compareBytes);
    const chosen = set.filter((m) => m.power === 5).map((m) => m.address);
    expect(chosen).toEqual(fives.slice(0, 2));
    // Sorted by address.
    expect([...set].sort((a, b) => compareBytes(a.address, b.address))).toEqual(set);
  });

  it('a bond to a new key creates a validator owned by the sender and returns its power as an update at H', async () => {
    const { ledger } = await openLedger();
    const newVal = key(300).publicKey;
    const r = await runBlock(ledger, [bond(alice, newVal, 3n * M, { nonce: 0 })]);
    expect(r.txResults[0]?.code).toBe('OK');
    expect(r.validatorUpdates).toEqual([{ pubKey: newVal, power: 3 }]);
    expect(ledger.validator(newVal)?.operator).toEqual(addr(alice));
    expect(ledger.account(addr(alice)).balance).toBe(1_000_000_000n - 3n * M - MIN_FEE);
    const vs = await queryJson<ValidatorSetView>(ledger, 'validators', new Uint8Array(0));
    expect(vs.value.height).toBe(1);
    expect(vs.value.effectiveHeight).toBe(3); // H + 2
    expect(vs.value.validators).toHaveLength(5);
    // Nothing changes → no updates.
    expect((await runBlock(ledger, [])).validatorUpdates).toEqual([]);
  });

  it('only the operator may bond more, and only whole power changes produce updates', async () => {
    const { ledger } = await openLedger();
    const r = await runBlock(ledger, [
      bond(alice, v0, 5n * M, { nonce: 0 }),
      bond(op0, v0, M / 2n, { nonce: 0 }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['TX_NOT_OPERATOR', 'OK']);
    expect(r.validatorUpdates).toEqual([]); // 10.5 M is still power 10
    const r2 = await runBlock(ledger, [bond(op0, v0, M / 2n, { nonce: 1 })]);
    expect(r2.validatorUpdates).toEqual([{ pubKey: v0, power: 11 }]);
  });

  it('unbond moves stake to the unbonding queue and releases it to the operator after unbondingBlocks', async () => {
    const { ledger } = await openLedger();
    const before = ledger.account(addr(op0)).balance;
    const elsewhere = { proposer: new Uint8Array(20).fill(7) }; // fees must not flow back to op0
    const r = await runBlock(ledger, [unbond(op0, v0, 4n * M, { nonce: 0 })], elsewhere); // height 1
    expect(r.txResults[0]?.code).toBe('OK');
    expect(r.txResults[0]?.events[1]?.attributes.releaseHeight).toBe(
      String(1 + TEST_PARAMS.staking.unbondingBlocks),
    );
    expect(r.validatorUpdates).toEqual([{ pubKey: v0, power: 6 }]);
    expect(ledger.validator(v0)?.bondedStake).toBe(6n * M);
    const q = await queryJson<{ entries: { amount: string; releaseHeight: number }[] }>(
      ledger,
      'unbonding',
      addr(op0),
    );
    expect(q.value.entries).toEqual([
      expect.objectContaining({ amount: (4n * M).toString(), releaseHeight: 4 }),
    ]);
    await runBlock(ledger, [], elsewhere); // 2
    await runBlock(ledger, [], elsewhere); // 3
    expect(ledger.account(addr(op0)).balance).toBe(before - MIN_FEE);
    await runBlock(ledger, [], elsewhere); // 4: released at the end of this block
    expect(ledger.account(addr(op0)).balance).toBe(before - MIN_FEE + 4n * M);
    const q2 = await queryJson<{ entries: unknown[] }>(ledger, 'unbonding', new Uint8Array(0));
    expect(q2.value.entries).toEqual([]);
  });

  it('unbonding everything removes the validator from the set (power 0 update)', async () => {
    const { ledger } = await openLedger();
    const r = await runBlock(ledger, [unbond(op0, v0, 10n * M, { nonce: 0 })]);
    expect(r.validatorUpdates).toEqual([{ pubKey: v0, power: 0 }]);
    expect(ledger.validatorSet().map((v) => v.pubKey)).not.toContainEqual(v0);
  });

  it('cannot unbond more than is bonded, or from someone else’s validator', async () => {
    const { ledger } = await openLedger();
    const r = await runBlock(ledger, [
      unbond(op0, v0, 10n * M + 1n, { nonce: 0 }),
      unbond(alice, v0, 1n, { nonce: 0 }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['TX_INSUFFICIENT_STAKE', 'TX_NOT_OPERATOR']);
    expect(ledger.validator(v0)?.bondedStake).toBe(10n * M);
  });

  it('keeps only the top maxValidators; a bigger newcomer pushes the smallest out', async () => {
    const params = { ...TEST_PARAMS, staking: { ...TEST_PARAMS.staking, maxValidators: 4 } };
    const { ledger } = await openLedger({}, genesisRequest({ consensusParams: params }));
    const smallest = (VALIDATOR_KEYS[0] as KeyPair).publicKey; // stake 10
    const newcomer = key(301).publicKey;
    const r = await runBlock(ledger, [bond(alice, newcomer, 20n * M, { nonce: 0 })]);
    const byKey = (a: { pubKey: Uint8Array }, b: { pubKey: Uint8Array }) => compareBytes(a.pubKey, b.pubKey);
    expect([...r.validatorUpdates].sort(byKey)).toEqual(
      [
        { pubKey: newcomer, power: 20 },
        { pubKey: smallest, power: 0 },
      ].sort(byKey),
    );
    expect(ledger.validatorSet()).toHaveLength(4);
  });

  it('never empties the validator set: the last validators stay until someone else has power', async () => {
    const one = genesisRequest({
      app: {
        accounts: [{ address: addr(op0), balance: 10n * M }],
        validators: [{ pubKey: v0, stake: 10n * M, operator: addr(op0) }],
      },
    });
    const { ledger } = await openLedger({}, one);
    const r = await runBlock(ledger, [unbond(op0, v0, 10n * M, { nonce: 0 })]);
    expect(r.txResults[0]?.code).toBe('OK');
    expect(r.validatorUpdates).toEqual([]);
    expect(ledger.validatorSet()).toEqual([{ pubKey: v0, power: 10 }]);
    const r2 = await runBlock(ledger, [bond(op0, key(302).publicKey, 2n * M, { nonce: 1 })]);
    expect(r2.validatorUpdates).toContainEqual({ pubKey: v0, power: 0 });
    expect(r2.validatorUpdates).toContainEqual({ pubKey: key(302).publicKey, power: 2 });
  });

  it('a bond to a tombstoned validator is refused', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, [], {
      misbehavior: [
        {
          kind: 'duplicate-vote',
          validatorAddress: addressFromPublicKey(v0),
          height: 1,
          timeMs: 0,
          validatorPower: 10,
          totalVotingPower: 46,
        },
      ],
    });
    const r = await runBlock(ledger, [bond(op0, v0, M, { nonce: 0 })]);
    expect(r.txResults[0]?.code).toBe('TX_TOMBSTONED');
  });
});
