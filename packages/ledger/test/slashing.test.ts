import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import type { Misbehavior } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  applyPunishment,
  emptyLedgerState,
  fractionOfStake,
  JAIL_FOREVER,
  jail,
  POWER_REDUCTION,
  punishDowntime,
  slash,
  slashInState,
  tombstone,
  unjail,
  unjailProblem,
  type ValidatorRecord,
} from '../src/index.js';
import {
  BLOCK_MS,
  GENESIS_TIME_MS,
  OPERATORS,
  openLedger,
  runBlock,
  TEST_PARAMS,
  unbond,
  unjailTx,
  VALIDATOR_KEYS,
} from './helpers.js';

const M = POWER_REDUCTION;
const vk = VALIDATOR_KEYS[1] as KeyPair; // stake 11 M, operator OPERATORS[1]
const op = OPERATORS[1] as KeyPair;

const record = (over: Partial<ValidatorRecord> = {}): ValidatorRecord => ({
  pubKey: vk.publicKey,
  address: addressFromPublicKey(vk.publicKey),
  operator: new Uint8Array(20),
  bondedStake: 1_000_003n,
  jailed: false,
  jailedUntilMs: 0,
  tombstoned: false,
  ...over,
});

const doubleSign = (height: number): Misbehavior => ({
  kind: 'duplicate-vote',
  validatorAddress: addressFromPublicKey(vk.publicKey),
  height,
  timeMs: GENESIS_TIME_MS,
  validatorPower: 11,
  totalVotingPower: 46,
});

describe('slashing hooks (pure)', () => {
  it('slash burns floor(stake × ppm / 1e6)', () => {
    expect(fractionOfStake(1_000_003n, 50_000)).toBe(50_000n);
    const r = slash(record(), 50_000);
    expect(r.burned).toBe(50_000n);
    expect(r.validator.bondedStake).toBe(950_003n);
    expect(slash(record(), 0).burned).toBe(0n);
    expect(slash(record(), 1_000_000).validator.bondedStake).toBe(0n);
    expect(() => slash(record(), 1_000_001)).toThrow(RangeError);
    expect(() => slash(record(), 0.5)).toThrow(RangeError);
  });

  it('jail sets a release time and never shortens an existing jail; Infinity is for ever', () => {
    const j = jail(record(), 5_000);
    expect(j).toMatchObject({ jailed: true, jailedUntilMs: 5_000 });
    expect(jail(j, 1_000).jailedUntilMs).toBe(5_000);
    expect(jail(j, 9_000).jailedUntilMs).toBe(9_000);
    expect(jail(record(), Number.POSITIVE_INFINITY).jailedUntilMs).toBe(JAIL_FOREVER);
  });

  it('tombstone jails for ever; unjail is allowed only after the jail period and never for tombstoned', () => {
    expect(unjailProblem(record(), 0)?.code).toBe('TX_NOT_JAILED');
    const j = jail(record(), 5_000);
    expect(unjailProblem(j, 4_999)?.code).toBe('TX_JAILED_TOO_EARLY');
    expect(unjailProblem(j, 5_000)).toBeUndefined();
    expect(unjail(j)).toMatchObject({ jailed: false, jailedUntilMs: 0 });
    const t = tombstone(j);
    expect(t).toMatchObject({ jailed: true, tombstoned: true, jailedUntilMs: JAIL_FOREVER });
    expect(unjailProblem(t, Number.MAX_SAFE_INTEGER)?.code).toBe('TX_TOMBSTONED');
  });

  it('applyPunishment on a state: slashes, jails, tombstones once; ignores unknown validators', () => {
    const state = emptyLedgerState();
    state.setValidator(record({ bondedStake: 100n * M }));
    const first = applyPunishment(state, vk.publicKey, {
      slashPpm: 100_000,
      jailUntilMs: Infinity,
      tombstone: true,
    });
    expect(first).toEqual({ applied: true, burnedBonded: 10n * M, burnedUnbonding: 0n });
    const again = applyPunishment(state, vk.publicKey, {
      slashPpm: 100_000,
      jailUntilMs: Infinity,
      tombstone: true,
    });
    expect(again.skipped).toBe('tombstoned');
    expect(state.validator(vk.publicKey)?.bondedStake).toBe(90n * M);
    expect(applyPunishment(state, new Uint8Array(32), { slashPpm: 1, tombstone: false }).skipped).toBe(
      'unknown-validator',
    );
    expect(slashInState(state, new Uint8Array(32), 10)).toEqual({ burnedBonded: 0n, burnedUnbonding: 0n });
  });

  it('punishDowntime slashes downtimeSlashPpm and jails for downtimeJailDurationMs', () => {
    const state = emptyLedgerState();
    state.setValidator(record({ bondedStake: 100n * M }));
    const out = punishDowntime(state, vk.publicKey, 1_000, TEST_PARAMS);
    expect(out.burnedBonded).toBe(fractionOfStake(100n * M, TEST_PARAMS.slashing.downtimeSlashPpm));
    expect(state.validator(vk.publicKey)).toMatchObject({
      jailed: true,
      tombstoned: false,
      jailedUntilMs: 1_000 + TEST_PARAMS.slashing.downtimeJailDurationMs,
    });
  });
});

describe('misbehaviour in finalizeBlock', () => {
  it('double sign: slash doubleSignSlashPpm, jail for ever, tombstone, leave the set; once per infraction', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, []); // 1
    const r = await runBlock(ledger, [], { misbehavior: [doubleSign(1)] }); // 2
    const v = ledger.validator(vk.publicKey);
    expect(v?.bondedStake).toBe(11n * M - fractionOfStake(11n * M, TEST_PARAMS.slashing.doubleSignSlashPpm));
    expect(v).toMatchObject({ jailed: true, tombstoned: true, jailedUntilMs: JAIL_FOREVER });
    expect(r.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: 0 }]);
    // The same infraction (or another) reported again changes nothing.
    const twin = await openLedger();
    await runBlock(twin.ledger, []);
    await runBlock(twin.ledger, [], { misbehavior: [doubleSign(1)] });
    const again = await runBlock(ledger, [], { misbehavior: [doubleSign(1), doubleSign(2)] });
    const plain = await runBlock(twin.ledger, []);
    expect(again.appHash).toEqual(plain.appHash);
    expect(ledger.validator(vk.publicKey)?.bondedStake).toBe(v?.bondedStake);
  });

  it('slashes unbonding entries created after the infraction, not those created before', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, [unbond(op, vk.publicKey, 2n * M, { nonce: 0 })]); // 1: before the infraction
    await runBlock(ledger, []); // 2: infraction height
    await runBlock(ledger, [unbond(op, vk.publicKey, 4n * M, { nonce: 1 })]); // 3: after
    await runBlock(ledger, [], { misbehavior: [doubleSign(2)] }); // 4 (entry of height 1 released at 4 too)
    const ppm = TEST_PARAMS.slashing.doubleSignSlashPpm;
    const q = await ledger.query({ path: 'unbonding', data: new Uint8Array(0) });
    const entries = JSON.parse(new TextDecoder().decode(q.value)).entries as {
      amount: string;
      creationHeight: number;
    }[];
    expect(entries).toEqual([
      expect.objectContaining({
        creationHeight: 3,
        amount: (4n * M - fractionOfStake(4n * M, ppm)).toString(),
      }),
    ]);
    expect(ledger.validator(vk.publicKey)?.bondedStake).toBe(5n * M - fractionOfStake(5n * M, ppm));
  });

  it('ignores misbehaviour of an unknown validator', async () => {
    const a = await openLedger();
    const b = await openLedger();
    const ra = await runBlock(a.ledger, [], {
      misbehavior: [{ ...doubleSign(1), validatorAddress: new Uint8Array(20) }],
    });
    const rb = await runBlock(b.ledger, []);
    expect(ra.appHash).toEqual(rb.appHash);
  });
});

describe('unjail transaction (downtime jail through the beginBlock hook)', () => {
  it('is accepted only after the jail period, only from the operator, and restores the validator', async () => {
    let jailAt: number | undefined;
    const { ledger } = await openLedger({
      beginBlock: ({ state, request, params }) => {
        if (request.height === jailAt) punishDowntime(state, vk.publicKey, request.timeMs, params);
      },
    });
    jailAt = 1;
    const r1 = await runBlock(ledger, []); // 1: jailed until t1 + 10 s
    expect(r1.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: 0 }]);
    const until = ledger.validator(vk.publicKey)?.jailedUntilMs as number;
    expect(until).toBe(GENESIS_TIME_MS + BLOCK_MS + TEST_PARAMS.slashing.downtimeJailDurationMs);
    // Too early (checkTx uses the last block time; finalizeBlock the block's).
    const early = unjailTx(op, vk.publicKey, { nonce: 0 });
    expect((await ledger.checkTx(early, 'new')).code).toBe('TX_JAILED_TOO_EARLY');
    const r2 = await runBlock(ledger, [early]); // 2
    expect(r2.txResults[0]?.code).toBe('TX_JAILED_TOO_EARLY');
    // Not the operator.
    const r3 = await runBlock(ledger, [unjailTx(OPERATORS[2] as KeyPair, vk.publicKey, { nonce: 0 })], {
      timeMs: until,
    });
    expect(r3.txResults[0]?.code).toBe('TX_NOT_OPERATOR');
    // On time, by the operator.
    const r4 = await runBlock(ledger, [unjailTx(op, vk.publicKey, { nonce: 1 })], { timeMs: until + 1 });
    expect(r4.txResults[0]?.code).toBe('OK');
    const stake = ledger.validator(vk.publicKey)?.bondedStake as bigint;
    expect(r4.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: Number(stake / M) }]);
    // Not jailed any more.
    const r5 = await runBlock(ledger, [unjailTx(op, vk.publicKey, { nonce: 2 })], { timeMs: until + 2 });
    expect(r5.txResults[0]?.code).toBe('TX_NOT_JAILED');
  });

  it('is refused for a tombstoned validator', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, [], { misbehavior: [doubleSign(1)] });
    const r = await runBlock(ledger, [unjailTx(op, vk.publicKey, { nonce: 0 })], {
      timeMs: Number.MAX_SAFE_INTEGER - 1,
    });
    expect(r.txResults[0]?.code).toBe('TX_TOMBSTONED');
  });
});
