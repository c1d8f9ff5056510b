import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { fractionOf, maxMissedBlocks } from '@synod/fault-detector';
import { createMemoryKvStore, openLevelKvStore } from '@synod/storage';
import { type ConsensusParams, DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  JAIL_FOREVER,
  Ledger,
  POWER_REDUCTION,
  type PunishedView,
  type SigningInfoView,
  smtRootOf,
  type ValidatorSetView,
  type ValidatorView,
} from '../src/index.js';
import { Driver, missing } from './driver.js';
import {
  BLOCK_MS,
  GENESIS_TIME_MS,
  genesisRequest,
  hex,
  OPERATORS,
  queryJson,
  TEST_PARAMS,
  unjailTx,
  VALIDATOR_KEYS,
} from './helpers.js';

const M = POWER_REDUCTION;
const vk = VALIDATOR_KEYS[1] as KeyPair; // stake 11 M, operator OPERATORS[1]
const op = OPERATORS[1] as KeyPair;
const vAddr = addressFromPublicKey(vk.publicKey);
const timeAt = (h: number): number => GENESIS_TIME_MS + h * BLOCK_MS;

async function signingInfo(d: Driver, key: KeyPair, height?: number): Promise<SigningInfoView> {
  const q = await queryJson<SigningInfoView>(
    d.ledger,
    'slashing/signing-info',
    addressFromPublicKey(key.publicKey),
    height,
  );
  expect(q.code).toBe('OK');
  return q.value;
}

describe('downtime (defaults: window 100, at least 50% signed, 1% slash)', () => {
  it('TEST_PARAMS keep the Cosmos defaults for the window', () => {
    expect(TEST_PARAMS.slashing.signedBlocksWindow).toBe(100);
    expect(maxMissedBlocks(TEST_PARAMS)).toBe(50);
    expect(TEST_PARAMS.slashing.downtimeSlashPpm).toBe(DEFAULT_CONSENSUS_PARAMS.slashing.downtimeSlashPpm);
  });

  it('more than 50 misses in 100 blocks: slashed 1%, jailed, out of the set at H+2; unjail only after the period; back at H+2', async () => {
    // vk misses the commits of heights 1..51 (recorded by blocks 2..52), then signs.
    const d = await Driver.open({ policy: missing(vk, (h) => h <= 51) });
    const before = await d.runTo(100);
    expect(before.flatMap((r) => r.validatorUpdates)).toEqual([]);
    expect(await signingInfo(d, vk)).toMatchObject({
      startHeight: 2,
      recordedBlocks: 99,
      missedBlocks: 51,
      window: 100,
      maxMissedBlocks: 50,
      jailed: false,
      downtimeJails: 0,
      last: null,
    });

    // H = 101 records the 100th signature: the window is full with 51 misses.
    const H = 101;
    const r = await d.block();
    const slashAmount = fractionOf(11n * M, TEST_PARAMS.slashing.downtimeSlashPpm);
    expect(slashAmount).toBe(110_000n); // 1%
    expect(r.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: 0 }]);
    const jailUntil = timeAt(H) + TEST_PARAMS.slashing.downtimeJailDurationMs;
    expect(d.ledger.validator(vk.publicKey)).toMatchObject({
      bondedStake: 11n * M - slashAmount,
      jailed: true,
      jailedUntilMs: jailUntil,
      tombstoned: false,
    });
    expect(d.ledger.lastPunishments()).toEqual([
      {
        height: H,
        validator: vAddr,
        pubKey: vk.publicKey,
        reason: 'downtime',
        slashAmount,
        burnedUnbonding: 0n,
        jailUntilMs: jailUntil,
        tombstoned: false,
      },
    ]);
    // The window was reset (as in Cosmos); the counters say who was punished.
    expect(await signingInfo(d, vk)).toMatchObject({
      startHeight: H,
      recordedBlocks: 0,
      missedBlocks: 0,
      jailed: true,
      jailedUntilMs: jailUntil,
      downtimeJails: 1,
      equivocations: 0,
      totalBurned: slashAmount.toString(),
      last: { height: H, reason: 'downtime', slashAmount: slashAmount.toString(), jailUntilMs: jailUntil },
    });
    // Out of the set at H + 2, still in it at H + 1 (fixed before H was decided).
    expect(d.inSet(vk, H + 1)).toBe(true);
    expect(d.inSet(vk, H + 2)).toBe(false);
    const decided = await queryJson<ValidatorSetView>(d.ledger, 'validators', new Uint8Array(0), H);
    expect(decided.value.effectiveHeight).toBe(H + 2);
    expect(decided.value.validators.map((v) => v.pubKey)).not.toContain(hex(vk.publicKey));
    expect((await queryJson<ValidatorView>(d.ledger, 'validator', vAddr)).value).toMatchObject({
      jailed: true,
      tombstoned: false,
      votingPower: 0,
    });

    // Jailed: not tracked (though it is still in the commits of H and H + 1).
    await d.runTo(104);
    expect(await signingInfo(d, vk)).toMatchObject({ recordedBlocks: 0, missedBlocks: 0 });

    // Too early: refused by checkTx and by the block (the fee is paid).
    const early = unjailTx(op, vk.publicKey, { nonce: 0 });
    expect((await d.ledger.checkTx(early, 'new')).code).toBe('TX_JAILED_TOO_EARLY');
    expect((await d.block({ txs: [early] })).txResults[0]?.code).toBe('TX_JAILED_TOO_EARLY'); // 105
    await d.runTo(109);
    expect(timeAt(110)).toBeLessThan(jailUntil);
    const stillEarly = await d.block({ txs: [unjailTx(op, vk.publicKey, { nonce: 1 })] }); // 110
    expect(stillEarly.txResults[0]?.code).toBe('TX_JAILED_TOO_EARLY');

    // On time (block time = jail end): accepted, back in the set at U + 2.
    const U = 111;
    expect(timeAt(U)).toBe(jailUntil);
    const back = await d.block({ txs: [unjailTx(op, vk.publicKey, { nonce: 2 })] });
    expect(back.txResults[0]?.code).toBe('OK');
    const power = Number((11n * M - slashAmount) / M);
    expect(back.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power }]);
    expect(d.inSet(vk, U + 1)).toBe(false);
    expect(d.inSet(vk, U + 2)).toBe(true);
    expect(await signingInfo(d, vk)).toMatchObject({ startHeight: U, recordedBlocks: 0, missedBlocks: 0 });

    // It signs again: tracked from a fresh window, never punished again.
    await d.runTo(U + 250);
    expect(d.ledger.validator(vk.publicKey)).toMatchObject({
      jailed: false,
      bondedStake: 11n * M - slashAmount,
    });
    // First recorded at U + 3 (the commit of U + 2, the first height it is back in the set).
    expect(await signingInfo(d, vk)).toMatchObject({
      recordedBlocks: 250 - 2,
      missedBlocks: 0,
      downtimeJails: 1,
    });
    const punished = await queryJson<PunishedView>(d.ledger, 'slashing/punished', new Uint8Array(0));
    expect(punished.value.validators).toEqual([
      expect.objectContaining({ address: hex(vAddr), downtimeJails: 1, jailed: false, tombstoned: false }),
    ]);
  });

  it('exactly 50 misses in a window is not punished (nor is signing every other block, for 300 blocks)', async () => {
    const d = await Driver.open({ policy: missing(vk, (h) => h <= 50) });
    const first = await d.runTo(200);
    expect(first.flatMap((r) => r.validatorUpdates)).toEqual([]);
    expect(await signingInfo(d, vk, 101)).toMatchObject({ recordedBlocks: 100, missedBlocks: 50 });
    expect(d.ledger.slashingRecord(vAddr)).toBeUndefined();

    const alternate = await Driver.open({ policy: missing(vk, (h) => h % 2 === 0) });
    const all = await alternate.runTo(300);
    expect(all.flatMap((r) => r.validatorUpdates)).toEqual([]);
    expect(await signingInfo(alternate, vk)).toMatchObject({ recordedBlocks: 299, missedBlocks: 50 });
    expect(alternate.ledger.validator(vk.publicKey)?.jailed).toBe(false);
  });

  it('an honest validator that always signs is never punished over 300 blocks', async () => {
    const d = await Driver.open();
    for (let h = 1; h <= 300; h++) {
      const r = await d.block();
      expect(r.validatorUpdates).toEqual([]);
      expect(d.ledger.lastPunishments()).toEqual([]);
    }
    for (const [i, v] of VALIDATOR_KEYS.entries()) {
      expect(await signingInfo(d, v)).toMatchObject({
        startHeight: 2,
        recordedBlocks: 299,
        missedBlocks: 0,
        jailed: false,
        downtimeJails: 0,
        totalBurned: '0',
      });
      expect(d.ledger.validator(v.publicKey)?.bondedStake).toBe(BigInt(10 + i) * M);
    }
    const punished = await queryJson<PunishedView>(d.ledger, 'slashing/punished', new Uint8Array(0));
    expect(punished.value.validators).toEqual([]);
  });

  it('a validator that never signs is punished once the first window is full, then not again while jailed', async () => {
    const d = await Driver.open({ policy: missing(vk, () => true) });
    const rs = await d.runTo(130);
    const jailedAt = rs.findIndex((r) => r.validatorUpdates.length > 0) + 1;
    expect(jailedAt).toBe(101);
    expect(d.ledger.slashingRecord(vAddr)?.downtimeJails).toBe(1);
    expect(rs.slice(jailedAt).flatMap((r) => r.validatorUpdates)).toEqual([]);
  });
});

describe('downtime: odd commit inputs', () => {
  it('ignores validators unknown to the ledger; counts a duplicated vote once; skips malformed addresses', async () => {
    const a = await Driver.open();
    const b = await Driver.open();
    await a.runTo(3);
    await b.runTo(3);
    const ra = await a.block({
      extraVotes: [
        { validatorAddress: new Uint8Array(20).fill(7), power: 5, signed: false },
        { validatorAddress: new Uint8Array(3), power: 5, signed: false },
        { validatorAddress: vAddr, power: 11, signed: false }, // a duplicate of vk's (signed) vote
      ],
    });
    const rb = await b.block();
    expect(ra.appHash).toEqual(rb.appHash);
    const unknown = await queryJson(a.ledger, 'slashing/signing-info', new Uint8Array(20).fill(7));
    expect(unknown.code).toBe('QUERY_NOT_FOUND');
    expect(a.ledger.signingInfo(new Uint8Array(20).fill(7))).toBeUndefined();
  });

  it('does not track at the initial height (no last commit) and starts each window at the first tracked block', async () => {
    const d = await Driver.open({ init: genesisRequest({ initialHeight: 50 }) });
    await d.block();
    expect(d.ledger.signingInfo(vAddr)).toBeUndefined();
    await d.block();
    expect(d.ledger.signingInfo(vAddr)).toMatchObject({ startHeight: 51, recorded: 1, missedCount: 0 });
  });

  it('rejects bad signing-info query data', async () => {
    const d = await Driver.open();
    expect((await queryJson(d.ledger, 'slashing/signing-info', new Uint8Array(5))).code).toBe(
      'QUERY_BAD_DATA',
    );
    expect((await queryJson(d.ledger, 'slashing/punished', new Uint8Array(5))).code).toBe('QUERY_BAD_DATA');
    const untracked = await queryJson<SigningInfoView>(d.ledger, 'slashing/signing-info', vk.publicKey);
    expect(untracked).toMatchObject({
      code: 'OK',
      log: 'validator not tracked yet',
      value: { startHeight: 0 },
    });
  });
});

describe('all fractions and periods come from the consensus params', () => {
  const params: ConsensusParams = {
    ...TEST_PARAMS,
    slashing: {
      doubleSignSlashPpm: 100_000, // 10%
      downtimeSlashPpm: 20_000, // 2%
      signedBlocksWindow: 10,
      minSignedPerWindowPpm: 700_000, // at most 3 misses in 10
      downtimeJailDurationMs: 5_000,
    },
  };

  it('window 10, 70% signed, 2% slash, 5 s jail, 10% for double signing', async () => {
    const other = VALIDATOR_KEYS[2] as KeyPair; // stake 12 M, misses 3 of 10: never punished
    const third = VALIDATOR_KEYS[3] as KeyPair; // stake 13 M, double signs
    const vMissed = missing(vk, (h) => h <= 4);
    const oMissed = missing(other, (h) => h % 10 < 3);
    const d = await Driver.open({ params, policy: (a, h) => vMissed(a, h) && oMissed(a, h) });
    const rs = await d.runTo(10);
    expect(rs.flatMap((r) => r.validatorUpdates)).toEqual([]);
    const r11 = await d.block(); // 11: vk's 10th record, 4 misses
    expect(r11.validatorUpdates).toEqual([{ pubKey: vk.publicKey, power: 0 }]);
    expect(d.ledger.validator(vk.publicKey)).toMatchObject({
      bondedStake: 11n * M - 220_000n,
      jailedUntilMs: timeAt(11) + 5_000,
    });
    await d.runTo(14);
    const early = await d.block({ txs: [unjailTx(op, vk.publicKey, { nonce: 0 })] }); // 15
    expect(early.txResults[0]?.code).toBe('TX_JAILED_TOO_EARLY');
    const ok = await d.block({ txs: [unjailTx(op, vk.publicKey, { nonce: 1 })] }); // 16: t(11) + 5 s
    expect(ok.txResults[0]?.code).toBe('OK');
    await d.runTo(60);
    expect(d.ledger.validator(other.publicKey)).toMatchObject({ jailed: false, bondedStake: 12n * M });
    expect(await signingInfo(d, other)).toMatchObject({ window: 10, maxMissedBlocks: 3, missedBlocks: 3 });

    const ds = await d.block({
      misbehavior: [
        {
          kind: 'duplicate-vote',
          validatorAddress: addressFromPublicKey(third.publicKey),
          height: 55,
          timeMs: timeAt(55),
          validatorPower: 13,
          totalVotingPower: 45,
        },
      ],
    });
    expect(ds.validatorUpdates).toEqual([{ pubKey: third.publicKey, power: 0 }]);
    expect(d.ledger.validator(third.publicKey)).toMatchObject({
      bondedStake: 13n * M - 1_300_000n,
      tombstoned: true,
      jailedUntilMs: JAIL_FOREVER,
    });
  });
});

describe('determinism with signing infos in the state', () => {
  it('replaying the same requests on fresh ledgers (memory, LevelDB with restarts) gives the same app hashes', async () => {
    // Two validators with different miss patterns: one trips downtime at 101, unjails and comes back.
    const vMiss = missing(vk, (h) => h <= 60);
    const oMiss = missing(VALIDATOR_KEYS[3] as KeyPair, (h) => h % 3 === 0);
    const ref = await Driver.open({ policy: (a, h) => vMiss(a, h) && oMiss(a, h) });
    await ref.runTo(115);
    await ref.block({ txs: [unjailTx(op, vk.publicKey, { nonce: 0 })] }); // 116: after the 10 s jail
    await ref.runTo(150);
    expect(ref.ledger.slashingRecord(vAddr)?.downtimeJails).toBe(1);
    expect(ref.ledger.validator(vk.publicKey)?.jailed).toBe(false);
    // Signing infos change the app hash of every block from the second on (no transactions needed).
    expect(new Set(ref.appHashes.slice(1).map(hex)).size).toBe(150);

    const replayOn = async (ledger: Ledger, from: number, to: number): Promise<Uint8Array[]> => {
      const out: Uint8Array[] = [];
      for (const req of ref.requests.slice(from - 1, to)) {
        out.push((await ledger.finalizeBlock(req)).appHash);
        await ledger.commit();
      }
      return out;
    };
    const mem = await Ledger.open({ kv: await createMemoryKvStore() });
    await mem.initChain(genesisRequest());
    expect(await replayOn(mem, 1, 150)).toEqual(ref.appHashes.slice(1));

    const dir = await mkdtemp(join(tmpdir(), 'ledger-downtime-'));
    try {
      const hashes: Uint8Array[] = [];
      let kv = await openLevelKvStore(dir);
      let ledger = await Ledger.open({ kv });
      await ledger.initChain(genesisRequest());
      // Restart in the middle of the first window and while vk is jailed.
      for (const [from, to] of [
        [1, 50],
        [51, 105],
        [106, 150],
      ] as const) {
        hashes.push(...(await replayOn(ledger, from, to)));
        await kv.close();
        kv = await openLevelKvStore(dir);
        ledger = await Ledger.open({ kv });
        expect((await ledger.info()).lastBlockHeight).toBe(to);
      }
      expect(hashes).toEqual(ref.appHashes.slice(1));
      expect(ledger.signingInfo(vAddr)).toEqual(ref.ledger.signingInfo(vAddr));
      // The app hash is the root of the persisted state (signing infos included).
      const latest = await kv.entries({ gte: Uint8Array.of(0x4c), lt: Uint8Array.of(0x4d) });
      const entries = latest.map((e) => [e.key.slice(1), e.value.slice(8)] as const);
      expect(entries.some(([k]) => k[0] === 0x08)).toBe(true);
      expect(smtRootOf(entries)).toEqual(ref.appHashes.at(-1));
      // Signing infos are versioned: queries at past heights see the window then.
      const at100 = await queryJson<SigningInfoView>(ledger, 'slashing/signing-info', vAddr, 100);
      expect(at100.value).toMatchObject({ recordedBlocks: 99, missedBlocks: 60, jailed: false });
      await kv.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
