import { encodeEvidence } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { EvidencePool } from '../src/index.js';
import { context, doubleProposal, duplicateVote, hashOf, signedProposal, signedVote } from './fixtures.js';

describe('EvidencePool', () => {
  it('adds verified evidence once and reports duplicates', () => {
    const pool = new EvidencePool();
    expect(pool.add(duplicateVote(0), context())).toEqual({ status: 'added' });
    expect(pool.add(duplicateVote(0), context())).toEqual({ status: 'duplicate' });
    expect(pool.pendingCount).toBe(1);
  });

  it('refuses invalid evidence with its problem', () => {
    const pool = new EvidencePool();
    const ev = duplicateVote(0);
    const r = pool.add({ ...ev, timeMs: 1 }, context());
    expect(r.status).toBe('invalid');
    expect(r.status === 'invalid' && r.problem.code).toBe('WRONG_TIME');
    expect(pool.pendingCount).toBe(0);
  });

  it('keeps committed apart from pending and refuses committed evidence again', () => {
    const pool = new EvidencePool();
    const ev = duplicateVote(1);
    pool.add(ev, context());
    pool.update([ev], context(11));
    expect(pool.isPending(ev)).toBe(false);
    expect(pool.isCommitted(ev)).toBe(true);
    expect(pool.add(ev, context(11))).toEqual({ status: 'committed' });
    expect(pool.blockEvidenceProblem([ev], context(11))).toMatch(/already committed/);
  });

  it('returns pending evidence oldest first within a byte budget', () => {
    const pool = new EvidencePool();
    const newer = duplicateVote(0, 8);
    const older = doubleProposal(1, 3);
    pool.add(newer, context());
    pool.add(older, context());
    expect(pool.pending(1_000_000)).toEqual([older, newer]);
    const oneSize = encodeEvidence(older).length;
    expect(pool.pending(oneSize)).toEqual([older]);
    expect(pool.pending(0)).toEqual([]);
  });

  it('judges a block’s evidence: invalid, duplicated or oversized lists are refused', () => {
    const pool = new EvidencePool();
    const ev = duplicateVote(2);
    expect(pool.blockEvidenceProblem([ev], context())).toBeUndefined();
    expect(pool.blockEvidenceProblem([ev, duplicateVote(2)], context())).toMatch(/duplicate/);
    expect(pool.blockEvidenceProblem([{ ...ev, timeMs: 5 }], context())).toMatch(/invalid evidence/);
    const ctx = context();
    const tight = { ...ctx, params: { ...ctx.params, evidence: { ...ctx.params.evidence, maxBytes: 10 } } };
    expect(pool.blockEvidenceProblem([ev], tight)).toMatch(/maxBytes/);
  });

  it('turns local reports into evidence once their height is committed', () => {
    const pool = new EvidencePool();
    const a = signedVote(3, { type: 'precommit', height: 12, round: 1, blockHash: hashOf(7) });
    const b = signedVote(3, { type: 'precommit', height: 12, round: 1, blockHash: null });
    pool.reportConflictingVotes(a, b);
    const p1 = signedProposal(0, {
      height: 12,
      round: 0,
      polRound: -1,
      blockHash: hashOf(1),
      timestampMs: 1,
    });
    const p2 = signedProposal(0, {
      height: 12,
      round: 0,
      polRound: -1,
      blockHash: hashOf(2),
      timestampMs: 1,
    });
    pool.reportDoubleProposal(p1, p2);
    pool.update([], context(11));
    expect(pool.pendingCount).toBe(0);
    pool.update([], context(12));
    const pending = pool.pending(1_000_000);
    expect(pending.map((e) => e.kind).sort()).toEqual(['double-proposal', 'duplicate-vote']);
    for (const e of pending) expect(pool.blockEvidenceProblem([e], context(12))).toBeUndefined();
  });

  it('expires pending evidence by age', () => {
    const pool = new EvidencePool();
    pool.add(duplicateVote(0, 5), context(10));
    const ctx = context(10);
    const params = {
      ...ctx.params,
      evidence: { ...ctx.params.evidence, maxAgeBlocks: 2, maxAgeDurationMs: 1000 },
    };
    pool.update([], { ...context(10), params });
    expect(pool.pendingCount).toBe(0);
  });
});
