import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../src/index.js';
import { makeEvidence } from '../fixtures.js';
import { KV_KINDS, type OpenKv } from '../kv-fixtures.js';

for (const [kind, open] of KV_KINDS) {
  describe(`EvidenceStore on ${kind}`, () => {
    let db: OpenKv;
    beforeEach(async () => {
      db = await open();
    });
    afterEach(async () => {
      await db.cleanup();
    });

    it('keeps pending evidence in infraction-height order, once', async () => {
      const store = await EvidenceStore.open(db.kv);
      const e9 = makeEvidence(9);
      const e3 = makeEvidence(3);
      const e3b = makeEvidence(3, 1);
      expect(await store.addPending(e9)).toBe(true);
      expect(await store.addPending(e3)).toBe(true);
      expect(await store.addPending(e3b)).toBe(true);
      expect(await store.addPending(e3)).toBe(false);
      const reopened = await EvidenceStore.open(await db.reopen());
      const pending = await reopened.listPending();
      expect(pending.map((e) => (e.kind === 'duplicate-vote' ? e.voteA.vote.height : -1))).toEqual([3, 3, 9]);
      expect(pending).toContainEqual(e3b);
      expect((await reopened.listPending(1)).length).toBe(1);
      expect(await reopened.status(e9)).toBe('pending');
      expect(await reopened.status(makeEvidence(4))).toBe('unknown');
    });

    it('committed evidence leaves the pending set and cannot be added again', async () => {
      const store = await EvidenceStore.open(db.kv);
      const a = makeEvidence(5);
      const b = makeEvidence(6);
      await store.addPending(a);
      await store.addPending(b);
      await store.markCommitted([a], 12);
      expect(await store.status(a)).toBe('committed');
      expect(await store.committedAt(a)).toBe(12);
      expect(await store.committedAt(b)).toBeUndefined();
      expect(await store.listPending()).toEqual([b]);
      expect(await store.addPending(a)).toBe(false);
    });

    it('prunes evidence below a height, pending and committed', async () => {
      const store = await EvidenceStore.open(db.kv);
      const old = makeEvidence(2);
      const oldCommitted = makeEvidence(3);
      const fresh = makeEvidence(20);
      await store.addPending(old);
      await store.markCommitted([oldCommitted], 4);
      await store.addPending(fresh);
      expect(await store.pruneBelow(10)).toBe(2);
      expect(await store.status(old)).toBe('unknown');
      expect(await store.status(oldCommitted)).toBe('unknown');
      expect(await store.listPending()).toEqual([fresh]);
      expect(await store.diskUsage()).toBeGreaterThanOrEqual(0);
    });
  });
}
