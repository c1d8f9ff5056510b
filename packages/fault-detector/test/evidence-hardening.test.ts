import {
  canonicalEvidence,
  type Evidence,
  evidenceStructureProblem,
  evidenceTimeProblem,
  isCanonicalEvidenceOrder,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import { EvidencePool, evidenceProblem, punishmentKey } from '../src/index.js';
import {
  BLOCK_TIME,
  context,
  doubleProposal,
  duplicateVote,
  hashOf,
  set,
  signedProposal,
  signedVote,
} from './fixtures.js';

/** The same evidence with A and B swapped: a byte-distinct copy of one equivocation. */
function swapped(ev: Evidence): Evidence {
  return ev.kind === 'duplicate-vote'
    ? { ...ev, voteA: ev.voteB, voteB: ev.voteA }
    : { ...ev, proposalA: ev.proposalB, proposalB: ev.proposalA };
}

describe('evidence validity: canonical order (#11.16)', () => {
  it('refuses the swapped copy of valid evidence, for both kinds', () => {
    for (const ev of [duplicateVote(0), doubleProposal(1)]) {
      expect(isCanonicalEvidenceOrder(ev)).toBe(true);
      expect(evidenceProblem(ev, context())).toBeUndefined();
      const copy = swapped(ev);
      expect(isCanonicalEvidenceOrder(copy)).toBe(false);
      expect(evidenceStructureProblem(copy)).toMatch(/canonical order/);
      expect(evidenceProblem(copy, context())?.code).toBe('MALFORMED');
    }
  });

  it('canonicalEvidence puts either order into the one valid order', () => {
    for (const ev of [duplicateVote(0), doubleProposal(1)]) {
      expect(canonicalEvidence(swapped(ev))).toEqual(ev);
      expect(canonicalEvidence(ev)).toBe(ev);
    }
  });

  it('the pool turns local reports in either order into canonical evidence', () => {
    const a = signedVote(2, { type: 'precommit', height: 4, round: 1, blockHash: hashOf(9) });
    const b = signedVote(2, { type: 'precommit', height: 4, round: 1, blockHash: null });
    const pa = signedProposal(3, { height: 6, round: 0, polRound: -1, timestampMs: 1, blockHash: hashOf(8) });
    const pb = signedProposal(3, { height: 6, round: 0, polRound: -1, timestampMs: 1, blockHash: hashOf(7) });
    const pool = new EvidencePool();
    pool.reportConflictingVotes(a, b);
    pool.reportDoubleProposal(pa, pb);
    pool.update([], context());
    const pending = pool.pending(1_000_000);
    expect(pending.length).toBe(2);
    for (const ev of pending) expect(evidenceProblem(ev, context())).toBeUndefined();
  });
});

describe('evidence validity: time (#11.16)', () => {
  it('refuses a time after the last committed block, before looking anything up', () => {
    const ev = { ...duplicateVote(0, 5), timeMs: BLOCK_TIME(10) + 1 };
    const ctx = { ...context(10), blockTimeAt: () => undefined };
    expect(evidenceTimeProblem(ev, ctx)?.code).toBe('WRONG_TIME');
    expect(evidenceProblem(ev, context(10))?.code).toBe('WRONG_TIME');
  });

  it('judges age with the blocks-and-time rule, using the recorded time', () => {
    const params = context().params;
    const old = duplicateVote(0, 1);
    const far = 2 + params.evidence.maxAgeBlocks;
    const later = { ...context(far), timeMs: BLOCK_TIME(1) + params.evidence.maxAgeDurationMs + 1 };
    expect(evidenceTimeProblem(old, later)?.code).toBe('EXPIRED');
    // Enough blocks but not enough time: still valid.
    const soon = { ...context(far), timeMs: BLOCK_TIME(1) + params.evidence.maxAgeDurationMs };
    expect(evidenceTimeProblem(old, soon)).toBeUndefined();
  });
});

describe('EvidencePool: what the ledger punishes (#11.16)', () => {
  it('keeps one pending item per (validator, height), whatever the kind, round or vote type', () => {
    const pool = new EvidencePool();
    expect(pool.add(duplicateVote(0, 5, 0), context()).status).toBe('added');
    expect(pool.add(duplicateVote(0, 5, 1), context()).status).toBe('duplicate');
    expect(pool.add(doubleProposal(0, 5, 0), context()).status).toBe('duplicate');
    expect(pool.add(duplicateVote(1, 5, 0), context()).status).toBe('added');
    expect(pool.pendingCount).toBe(2);
    expect(punishmentKey(duplicateVote(0, 5, 1))).toBe(punishmentKey(doubleProposal(0, 5, 3)));
  });

  it('caps the pending items against one validator, without verifying the excess', () => {
    let verified = 0;
    const ctx = {
      ...context(),
      verifySignature: () => {
        verified++;
        return true;
      },
    };
    const pool = new EvidencePool({ maxPerValidator: 2 });
    expect(pool.add(duplicateVote(0, 3), ctx).status).toBe('added');
    expect(pool.add(duplicateVote(0, 4), ctx).status).toBe('added');
    const before = verified;
    expect(pool.add(duplicateVote(0, 5), ctx).status).toBe('duplicate');
    expect(verified).toBe(before);
    expect(pool.pendingCount).toBe(2);
    // Committing one frees the quota.
    pool.update([duplicateVote(0, 3)], context(11));
    expect(pool.add(duplicateVote(0, 5), context(11)).status).toBe('added');
  });

  it('drops evidence against a validator the application tombstoned', () => {
    const tombstoned = new Set<string>();
    const pool = new EvidencePool({ isTombstoned: (a) => tombstoned.has(Buffer.from(a).toString('hex')) });
    expect(pool.add(duplicateVote(0, 4), context()).status).toBe('added');
    tombstoned.add(Buffer.from(set.validators[0]?.address as Uint8Array).toString('hex'));
    expect(pool.add(duplicateVote(0, 5), context()).status).toBe('committed');
    pool.update([], context(11));
    expect(pool.pendingCount).toBe(0);
  });
});

describe('blockEvidenceProblem does not depend on the pool (#11.16)', () => {
  // The simulator's seed 352174324: a Byzantine proposer's block carries
  // evidence with a bad signature for an infraction the honest pools hold.
  it('verifies evidence that only shares the infraction with a pending item', () => {
    const held = duplicateVote(0, 5);
    if (held.kind !== 'duplicate-vote') throw new Error('kind');
    const forged: Evidence = { ...held, voteB: { ...held.voteB, signature: new Uint8Array(64) } };
    const holder = new EvidencePool();
    expect(holder.add(held, context()).status).toBe('added');
    const empty = new EvidencePool();
    // Both nodes give the same verdict on the forged copy...
    expect(holder.blockEvidenceProblem([forged], context())).toMatch(/signature in the evidence is invalid/);
    expect(empty.blockEvidenceProblem([forged], context())).toMatch(/signature in the evidence is invalid/);
    // ... and on the held evidence itself.
    expect(holder.blockEvidenceProblem([held], context())).toBeUndefined();
    expect(empty.blockEvidenceProblem([held], context())).toBeUndefined();
  });

  it('skips verification only for the identical evidence', () => {
    let verified = 0;
    const ctx = {
      ...context(),
      verifySignature: () => {
        verified++;
        return true;
      },
    };
    const pool = new EvidencePool();
    const held = duplicateVote(0, 5);
    pool.add(held, ctx);
    const n = verified;
    expect(pool.blockEvidenceProblem([held], ctx)).toBeUndefined();
    expect(verified).toBe(n);
    const otherRound = duplicateVote(0, 5, 1); // same (validator, height), other bytes
    expect(pool.blockEvidenceProblem([otherRound], ctx)).toBeUndefined();
    expect(verified).toBe(n + 2);
  });

  it('refuses two items for one (validator, height) in a block', () => {
    const pool = new EvidencePool();
    expect(pool.blockEvidenceProblem([duplicateVote(0, 5, 0), duplicateVote(0, 5, 1)], context())).toMatch(
      /duplicate evidence/,
    );
  });
});
