import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { canUnjail, downtimePunishment, equivocationPunishment, fractionOf } from '@synod/fault-detector';
import { createMemoryKvStore } from '@synod/storage';
import type { Misbehavior } from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyPunishment,
  emptyLedgerState,
  JAIL_FOREVER,
  jail,
  Ledger,
  POWER_REDUCTION,
  type PunishedView,
  punishDowntime,
  punishMisbehavior,
  type SigningInfoView,
  slash,
  slashInState,
  tombstone,
  unjail,
  unjailProblem,
  type ValidatorRecord,
  type ValidatorView,
} from '../src/index.js';
import {
  BLOCK_MS,
  GENESIS_TIME_MS,
  hex,
  OPERATORS,
  openLedger,
  queryJson,
  runBlock,
  TEST_PARAMS,
  unbond,
  unjailTx,
  VALIDATOR_KEYS,
} from './helpers.js';

const M = POWER_REDUCTION;
const vk = VALIDATOR_KEYS[1] as KeyPair; // stake 11 M, operator OPERATORS[1]
const op = OPERATORS[1] as KeyPair;
const vAddr = addressFromPublicKey(vk.publicKey);

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

describe('slashing hooks (state application of the fault-detector rules)', () => {
  it('slash burns exactly the amount a rule decided, never more than is bonded', () => {
    expect(slash(record(), 50_000n).bondedStake).toBe(950_003n);
    expect(slash(record(), 0n).bondedStake).toBe(1_000_003n);
    expect(slash(record(), 1_000_003n).bondedStake).toBe(0n);
    expect(() => slash(record(), 1_000_004n)).toThrow(RangeError);
    expect(() => slash(record(), -1n)).toThrow(RangeError);
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
    // Jailed for ever without a tombstone: never unjailed either.
    expect(unjailProblem(jail(record(), Infinity), Number.MAX_SAFE_INTEGER)?.code).toBe(
      'TX_JAILED_TOO_EARLY',
    );
  });

  it('the unjail decision is the fault-detector canUnjail', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1e13 }), fc.nat({ max: 1e13 }), fc.boolean(), (until, time, dead) => {
        const v = dead ? tombstone(jail(record(), until)) : jail(record(), until);
        expect(unjailProblem(v, time) === undefined).toBe(canUnjail(until, dead, time));
      }),
    );
  });

  it('applyPunishment carries out a Punishment: slashes, jails, tombstones, counts; never twice for a tombstoned validator', () => {
    const state = emptyLedgerState();
    state.setValidator(record({ bondedStake: 100n * M }));
    const p = equivocationPunishment('duplicate-vote', 100n * M, TEST_PARAMS);
    const first = applyPunishment(state, vk.publicKey, p, { height: 7 });
    expect(first).toMatchObject({ applied: true, burnedBonded: 5n * M, burnedUnbonding: 0n, punishment: p });
    expect(state.validator(vk.publicKey)).toMatchObject({
      bondedStake: 95n * M,
      jailed: true,
      tombstoned: true,
      jailedUntilMs: JAIL_FOREVER,
    });
    expect(state.slashingRecord(record().address)).toEqual({
      downtimeJails: 0,
      equivocations: 1,
      totalBurned: 5n * M,
      lastHeight: 7,
      lastReason: 'double-sign',
      lastSlashAmount: 5n * M,
      lastJailUntilMs: JAIL_FOREVER,
    });
    const again = applyPunishment(state, vk.publicKey, p, { height: 8 });
    expect(again.skipped).toBe('tombstoned');
    expect(state.validator(vk.publicKey)?.bondedStake).toBe(95n * M);
    const none = downtimePunishment(1n, 0, TEST_PARAMS);
    expect(applyPunishment(state, new Uint8Array(32), none, { height: 8 }).skipped).toBe('unknown-validator');
    expect(slashInState(state, new Uint8Array(32), 10n)).toEqual({ burnedBonded: 0n, burnedUnbonding: 0n });
  });

  it('punishDowntime applies downtimePunishment (downtimeSlashPpm, downtimeJailDurationMs) and resets the window', () => {
    const state = emptyLedgerState();
    state.setValidator(record({ bondedStake: 100n * M }));
    state.setSigningInfo(record().address, {
      startHeight: 3,
      recorded: 120,
      missedCount: 60,
      missed: new Uint8Array(13).fill(1),
    });
    const out = punishDowntime(state, vk.publicKey, 9, 1_000, TEST_PARAMS);
    expect(out.punishment).toEqual(downtimePunishment(100n * M, 1_000, TEST_PARAMS));
    expect(out.burnedBonded).toBe(fractionOf(100n * M, TEST_PARAMS.slashing.downtimeSlashPpm));
    expect(state.validator(vk.publicKey)).toMatchObject({
      jailed: true,
      tombstoned: false,
      jailedUntilMs: 1_000 + TEST_PARAMS.slashing.downtimeJailDurationMs,
    });
    expect(state.signingInfo(record().address)).toEqual({
      startHeight: 9,
      recorded: 0,
      missedCount: 0,
      missed: new Uint8Array(13),
    });
    expect(state.slashingRecord(record().address)).toMatchObject({
      downtimeJails: 1,
      lastReason: 'downtime',
      lastHeight: 9,
    });
  });
});

describe('misbehaviour in finalizeBlock', () => {
  it('double sign: slash doubleSignSlashPpm, jail for ever, tombstone, leave the set; once per infraction', async () => {
    const { ledger } = await openLedger();
    await runBlock(ledger, []); // 1
    const r = await runBlock(ledger, [], { misbehavior: [doubleSign(1)] }); // 2
    const v = ledger.validator(vk.publicKey);
    expect(v?.bondedStake).toBe(11n * M - fractionOf(11n * M, TEST_PARAMS.slashing.doubleSignSlashPpm));
    expect(v).toMatchObject({ jailed: true, tombstoned: true, jailedUntilMs: JAIL_FOREVER });
    expect(r.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: 0 }]);
    const slashAmount = equivocationPunishment('duplicate-vote', 11n * M, TEST_PARAMS).slashAmount;
    expect(ledger.lastPunishments()).toEqual([
      {
        height: 2,
        validator: vAddr,
        pubKey: vk.publicKey,
        reason: 'double-sign',
        slashAmount,
        burnedUnbonding: 0n,
        jailUntilMs: JAIL_FOREVER,
        tombstoned: true,
        infractionHeight: 1,
      },
    ]);
    // The same infraction (or another) reported again changes nothing.
    const twin = await openLedger();
    await runBlock(twin.ledger, []);
    await runBlock(twin.ledger, [], { misbehavior: [doubleSign(1)] });
    const again = await runBlock(ledger, [], { misbehavior: [doubleSign(1), doubleSign(2)] });
    const plain = await runBlock(twin.ledger, []);
    expect(again.appHash).toEqual(plain.appHash);
    expect(again.validatorUpdates).toEqual([]);
    expect(ledger.lastPunishments()).toEqual([]);
    expect(ledger.validator(vk.publicKey)?.bondedStake).toBe(v?.bondedStake);
    // Who was punished, through the queries.
    const info = await queryJson<SigningInfoView>(ledger, 'slashing/signing-info', vAddr);
    expect(info.value).toMatchObject({
      jailed: true,
      tombstoned: true,
      jailedUntilMs: JAIL_FOREVER,
      equivocations: 1,
      downtimeJails: 0,
      totalBurned: slashAmount.toString(),
      last: {
        height: 2,
        reason: 'double-sign',
        slashAmount: slashAmount.toString(),
        jailUntilMs: JAIL_FOREVER,
      },
    });
    const punished = await queryJson<PunishedView>(ledger, 'slashing/punished', new Uint8Array(0));
    expect(punished.value.validators.map((x) => x.address)).toEqual([hex(vAddr)]);
    const view = await queryJson<ValidatorView>(ledger, 'validator', vAddr);
    expect(view.value).toMatchObject({ jailed: true, tombstoned: true, votingPower: 0 });
  });

  it('the same misbehaviour twice in one block punishes once', async () => {
    const a = await openLedger();
    const b = await openLedger();
    const ra = await runBlock(a.ledger, [], { misbehavior: [doubleSign(1), doubleSign(1)] });
    const rb = await runBlock(b.ledger, [], { misbehavior: [doubleSign(1)] });
    expect(ra.appHash).toEqual(rb.appHash);
    expect(a.ledger.lastPunishments()).toHaveLength(1);
    expect(a.ledger.validator(vk.publicKey)?.bondedStake).toBe(11n * M - fractionOf(11n * M, 50_000));
  });

  it('double proposal: the same equivocation rule (doubleSignSlashPpm, for ever, tombstone)', async () => {
    const { ledger } = await openLedger();
    const r = await runBlock(ledger, [], { misbehavior: [{ ...doubleSign(1), kind: 'double-proposal' }] });
    expect(r.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: 0 }]);
    expect(ledger.validator(vk.publicKey)).toMatchObject({
      bondedStake: 11n * M - equivocationPunishment('double-proposal', 11n * M, TEST_PARAMS).slashAmount,
      tombstoned: true,
      jailedUntilMs: JAIL_FOREVER,
    });
    expect(ledger.lastPunishments()[0]?.reason).toBe('double-proposal');
    expect(ledger.slashingRecord(vAddr)).toMatchObject({ equivocations: 1, lastReason: 'double-proposal' });
  });

  it('handled infractions are recorded in the state: a recorded one is never punished again, even across a restart', async () => {
    // The record alone (without a tombstone) stops a second punishment.
    const state = emptyLedgerState();
    state.setValidator(record({ bondedStake: 100n * M }));
    state.setInfraction(vAddr, 'duplicate-vote', 4, { punishedAtHeight: 6, burned: 1n });
    expect(punishMisbehavior(state, doubleSign(4), TEST_PARAMS, 9).skipped).toBe('already-punished');
    expect(
      punishMisbehavior(state, { ...doubleSign(4), kind: 'double-proposal' }, TEST_PARAMS, 9).applied,
    ).toBe(true);
    expect(state.infraction(vAddr, 'double-proposal', 4)).toEqual({
      punishedAtHeight: 9,
      burned: fractionOf(100n * M, TEST_PARAMS.slashing.doubleSignSlashPpm),
    });
    // Persisted: a restarted ledger still knows.
    const kv = await createMemoryKvStore();
    const { ledger } = await openLedger({ kv });
    await runBlock(ledger, [], { misbehavior: [doubleSign(1)] });
    const reopened = await Ledger.open({ kv });
    const before = reopened.validator(vk.publicKey);
    const r = await runBlock(reopened, [], { misbehavior: [doubleSign(1)] });
    expect(r.validatorUpdates).toEqual([]);
    expect(reopened.validator(vk.publicKey)).toEqual(before);
    expect(reopened.slashingRecord(vAddr)?.equivocations).toBe(1);
  });

  it('ignores malformed misbehaviour without throwing', async () => {
    const a = await openLedger();
    const b = await openLedger();
    const bad = { ...doubleSign(1), height: -1 };
    const ra = await runBlock(a.ledger, [], { misbehavior: [bad] });
    const rb = await runBlock(b.ledger, []);
    expect(ra.appHash).toEqual(rb.appHash);
    expect(punishMisbehavior(emptyLedgerState(), bad, TEST_PARAMS, 1).skipped).toBe('malformed');
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
        amount: (4n * M - fractionOf(4n * M, ppm)).toString(),
      }),
    ]);
    expect(ledger.validator(vk.publicKey)?.bondedStake).toBe(5n * M - fractionOf(5n * M, ppm));
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

describe('unjail transaction (a jail applied through the beginBlock hook)', () => {
  it('is accepted only after the jail period, only from the operator, and restores the validator', async () => {
    let jailAt: number | undefined;
    const { ledger } = await openLedger({
      beginBlock: ({ state, request, params }) => {
        if (request.height === jailAt)
          punishDowntime(state, vk.publicKey, request.height, request.timeMs, params);
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
