import { isSynodError } from '@synod/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY_PREFIX, StateStore } from '../../src/index.js';
import { DEFAULT_CONSENSUS_PARAMS, makeValidators } from '../fixtures.js';
import { KV_KINDS, type OpenKv, RecordingKv } from '../kv-fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const RESULTS = new Uint8Array(32).fill(4);

for (const [kind, open] of KV_KINDS) {
  describe(`StateStore on ${kind}`, () => {
    let db: OpenKv;
    beforeEach(async () => {
      db = await open();
    });
    afterEach(async () => {
      await db.cleanup();
    });

    it('returns the validator set and params in effect at each height', async () => {
      const store = await StateStore.open(db.kv);
      const a = makeValidators(4);
      const b = makeValidators(5, 7, 20);
      const paramsB = {
        ...DEFAULT_CONSENSUS_PARAMS,
        block: { ...DEFAULT_CONSENSUS_PARAMS.block, maxGas: 12345 },
      };
      await store.saveValidatorSet(1, a);
      await store.saveValidatorSet(5, b);
      await store.saveConsensusParams(1, DEFAULT_CONSENSUS_PARAMS);
      await store.saveConsensusParams(300, paramsB);
      const s = await StateStore.open(await db.reopen());
      expect(await s.loadValidatorSet(0)).toBeUndefined();
      for (const h of [1, 2, 4]) expect(await s.loadValidatorSet(h)).toEqual(a);
      for (const h of [5, 6, 1_000_000]) expect(await s.loadValidatorSet(h)).toEqual(b);
      expect((await s.loadValidatorSetEntry(9))?.height).toBe(5);
      expect(await s.loadConsensusParams(299)).toEqual(DEFAULT_CONSENSUS_PARAMS);
      expect((await s.loadConsensusParams(300))?.block.maxGas).toBe(12345);
      expect(await s.loadValidatorSet(-1)).toBeUndefined();
    });

    it('commits app state, validator sets, params and state info in one atomic batch', async () => {
      const recording = new RecordingKv(db.kv);
      const store = await StateStore.open(recording);
      const batch = store
        .batch()
        .putAppState(enc('acct/alice'), enc('100'))
        .putAppState(enc('acct/bob'), enc('50'))
        .putValidatorSet(3, makeValidators(4))
        .putConsensusParams(3, DEFAULT_CONSENSUS_PARAMS)
        .putStateInfo({ height: 1, appHash: new Uint8Array(32).fill(9), lastResultsHash: RESULTS });
      expect(batch.size).toBe(5);
      const before = recording.batches;
      await batch.commit();
      expect(recording.batches - before).toBe(1);
      expect(await store.appState.get(enc('acct/alice'))).toEqual(enc('100'));
      expect(await store.loadStateInfo()).toEqual({
        height: 1,
        appHash: new Uint8Array(32).fill(9),
        lastResultsHash: RESULTS,
      });
      expect(isSynodError(await batch.commit().catch((e: unknown) => e), 'INTERNAL')).toBe(true);

      recording.failWrites = true;
      const failing = store
        .batch()
        .delAppState(enc('acct/alice'))
        .putAppState(enc('acct/carol'), enc('1'))
        .putStateInfo({ height: 2, appHash: new Uint8Array(32), lastResultsHash: new Uint8Array(32) });
      await expect(failing.commit()).rejects.toThrow('injected');
      expect(await store.appState.get(enc('acct/alice'))).toEqual(enc('100'));
      expect(await store.appState.get(enc('acct/carol'))).toBeUndefined();
      expect((await store.loadStateInfo())?.height).toBe(1);
    });

    it('keeps the last results hash in the state info (the next header needs it), any app hash length', async () => {
      const store = await StateStore.open(db.kv);
      expect(await store.loadStateInfo()).toBeUndefined();
      await store
        .batch()
        .putStateInfo({ height: 0, appHash: new Uint8Array(0), lastResultsHash: new Uint8Array(32) })
        .commit();
      expect(await store.loadStateInfo()).toEqual({
        height: 0,
        appHash: new Uint8Array(0),
        lastResultsHash: new Uint8Array(32),
      });
      const appHash = Uint8Array.from({ length: 40 }, (_, i) => i);
      await store.batch().putStateInfo({ height: 7, appHash, lastResultsHash: RESULTS }).commit();
      expect(await store.loadStateInfo()).toEqual({ height: 7, appHash, lastResultsHash: RESULTS });
      expect(() =>
        store.batch().putStateInfo({ height: 8, appHash, lastResultsHash: new Uint8Array(31) }),
      ).toThrow(/lastResultsHash must be 32 bytes/);
      // A value too short to hold the results hash is corrupt, not a wrong answer.
      await db.kv.put(Uint8Array.of(KEY_PREFIX.stateInfo), new Uint8Array(8 + 31));
      expect(isSynodError(await store.loadStateInfo().catch((e: unknown) => e), 'STORAGE_CORRUPT')).toBe(
        true,
      );
    });

    it('gives the application a private key space', async () => {
      const store = await StateStore.open(db.kv);
      await store.appState.put(enc('k'), enc('v'));
      await store.saveValidatorSet(1, makeValidators(1));
      expect((await store.appState.entries()).map((e) => new TextDecoder().decode(e.key))).toEqual(['k']);
      const raw = await db.kv.get(Uint8Array.from([KEY_PREFIX.appState, ...enc('k')]));
      expect(raw).toEqual(enc('v'));
      expect(await store.diskUsage()).toBeGreaterThanOrEqual(0);
    });

    it('answers repeated validator set lookups from memory, and never a stale one after a write or a prune', async () => {
      const recording = new RecordingKv(db.kv);
      const store = await StateStore.open(recording);
      const a = makeValidators(4);
      const b = makeValidators(5, 7, 20);
      const c = makeValidators(3, 9, 40);
      await store.saveValidatorSet(1, a);
      await store.saveValidatorSet(5, b);
      const before = recording.iterations;
      // Heights written by this store: no iteration at all.
      expect(await store.loadValidatorSet(5)).toEqual(b);
      expect(await store.loadValidatorSet(1)).toEqual(a);
      expect(recording.iterations).toBe(before);
      // A height in between: one iteration, then remembered.
      expect((await store.loadValidatorSetEntry(8))?.height).toBe(5);
      expect((await store.loadValidatorSetEntry(8))?.height).toBe(5);
      expect(recording.iterations).toBe(before + 1);
      // A set written at 7 changes the answer for 8 (and above), not for 4.
      expect((await store.loadValidatorSetEntry(4))?.height).toBe(1);
      await store.saveValidatorSet(7, c);
      expect(await store.loadValidatorSet(8)).toEqual(c);
      expect((await store.loadValidatorSetEntry(4))?.height).toBe(1);
      // Pruning forgets every answer: a pruned height has no set any more.
      expect(await store.pruneHistory(6)).toBe(1);
      expect(await store.loadValidatorSet(1)).toBeUndefined();
      expect(await store.loadValidatorSet(6)).toEqual(b);
    });

    it('prunes validator sets and params no longer in effect', async () => {
      const store = await StateStore.open(db.kv);
      for (const h of [1, 10, 20]) await store.saveValidatorSet(h, makeValidators(h === 20 ? 3 : 4, h));
      await store.saveConsensusParams(1, DEFAULT_CONSENSUS_PARAMS);
      expect(await store.pruneHistory(15)).toBe(1);
      expect(await store.loadValidatorSet(5)).toBeUndefined();
      expect(await store.loadValidatorSet(15)).toEqual(makeValidators(4, 10));
      expect(await store.loadValidatorSet(25)).toEqual(makeValidators(3, 20));
      expect(await store.loadConsensusParams(15)).toEqual(DEFAULT_CONSENSUS_PARAMS);
    });

    it('rejects bad heights and values with typed errors', async () => {
      const store = await StateStore.open(db.kv);
      expect(() => store.batch().putValidatorSet(-1, makeValidators(1))).toThrow(/height/);
      expect(() => store.batch().putAppState(enc('k'), 'v' as unknown as Uint8Array)).toThrow(/Uint8Array/);
      const [v] = makeValidators(1).validators;
      const zeroPower = { validators: [{ ...v!, votingPower: 0 }] };
      const err = await store.saveValidatorSet(1, zeroPower).catch((e: unknown) => e);
      expect(isSynodError(err, 'ENCODE_INVALID_VALUE')).toBe(true);
      expect(await store.loadValidatorSet(1)).toBeUndefined();
    });
  });
}
