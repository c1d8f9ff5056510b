import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { evidenceProblem, infractionKey, isEvidenceExpired } from '../src/index.js';
import { BLOCK_TIME, context, doubleProposal, duplicateVote, signedVote } from './fixtures.js';

describe('evidence verification', () => {
  it('accepts valid duplicate-vote and double-proposal evidence', () => {
    expect(evidenceProblem(duplicateVote(0), context())).toBeUndefined();
    expect(evidenceProblem(doubleProposal(2), context())).toBeUndefined();
  });

  it('refuses malformed pairs (same vote twice, different validators)', () => {
    const ev = duplicateVote(0);
    if (ev.kind !== 'duplicate-vote') throw new Error('kind');
    expect(evidenceProblem({ ...ev, voteB: ev.voteA }, context())?.code).toBe('MALFORMED');
    const other = signedVote(1, { type: 'prevote', height: 5, round: 0, blockHash: null });
    expect(evidenceProblem({ ...ev, voteB: other }, context())?.code).toBe('MALFORMED');
  });

  it('refuses evidence from the future or for unknown heights', () => {
    expect(evidenceProblem(duplicateVote(0, 11), context(10))?.code).toBe('FROM_FUTURE');
    const ctx = { ...context(10), validatorSetAt: () => undefined };
    expect(evidenceProblem(duplicateVote(0), ctx)?.code).toBe('UNKNOWN_HEIGHT');
  });

  it('refuses a wrong power, a wrong time and a bad signature', () => {
    const ev = duplicateVote(0);
    expect(evidenceProblem({ ...ev, validatorPower: ev.validatorPower + 1 }, context())?.code).toBe(
      'WRONG_POWER',
    );
    expect(evidenceProblem({ ...ev, totalVotingPower: 1 }, context())?.code).toBe('WRONG_POWER');
    expect(evidenceProblem({ ...ev, timeMs: ev.timeMs + 1 }, context())?.code).toBe('WRONG_TIME');
    if (ev.kind !== 'duplicate-vote') throw new Error('kind');
    const forged = { ...ev, voteB: { ...ev.voteB, signature: ev.voteA.signature } };
    expect(evidenceProblem(forged, context())?.code).toBe('BAD_SIGNATURE');
    const otherChain = { ...ev, voteB: signedVote(0, { ...ev.voteB.vote }, 'other-chain') };
    expect(evidenceProblem(otherChain, context())?.code).toBe('BAD_SIGNATURE');
  });

  it('checks signatures with the context verifier when one is given', () => {
    const ev = duplicateVote(0);
    if (ev.kind !== 'duplicate-vote') throw new Error('kind');
    const asked: Uint8Array[] = [];
    const refuse = (_pk: Uint8Array, _msg: Uint8Array, sig: Uint8Array): boolean => {
      asked.push(sig);
      return false;
    };
    expect(evidenceProblem(ev, { ...context(), verifySignature: refuse })?.code).toBe('BAD_SIGNATURE');
    expect(asked).toEqual([ev.voteA.signature]);
    // A verifier that trusts the (forged) signatures: only the signature check is delegated.
    const forged = { ...ev, voteB: { ...ev.voteB, signature: new Uint8Array(64) } };
    expect(evidenceProblem(forged, { ...context(), verifySignature: () => true })).toBeUndefined();
    expect(
      evidenceProblem({ ...forged, timeMs: 1 }, { ...context(), verifySignature: () => true })?.code,
    ).toBe('WRONG_TIME');
  });

  it('refuses an accused who was not a validator at that height', () => {
    const ev = duplicateVote(0);
    const ctx = { ...context(), validatorSetAt: () => ({ validators: [] }) };
    expect(evidenceProblem(ev, ctx)?.code).toBe('UNKNOWN_VALIDATOR');
  });

  it('expires only when older than max age in blocks AND in time', () => {
    const p = {
      ...DEFAULT_CONSENSUS_PARAMS,
      evidence: { ...DEFAULT_CONSENSUS_PARAMS.evidence, maxAgeBlocks: 10, maxAgeDurationMs: 20_000 },
    };
    // 11 blocks old but only 11 s old: kept.
    expect(isEvidenceExpired(5, BLOCK_TIME(5), 16, BLOCK_TIME(16), p)).toBe(false);
    // 11 blocks old and 21 s old: expired.
    expect(isEvidenceExpired(5, BLOCK_TIME(5), 16, BLOCK_TIME(26), p)).toBe(true);
    // 5 blocks old, an hour old: kept.
    expect(isEvidenceExpired(5, BLOCK_TIME(5), 10, BLOCK_TIME(5) + 3_600_000, p)).toBe(false);
    expect(evidenceProblem(duplicateVote(0, 5), { ...context(30, p), timeMs: BLOCK_TIME(60) })?.code).toBe(
      'EXPIRED',
    );
  });

  it('names one infraction per validator, height, round and vote type', () => {
    const a = duplicateVote(0, 5, 1);
    const b = duplicateVote(0, 5, 1);
    expect(infractionKey(a)).toBe(infractionKey(b));
    expect(infractionKey(duplicateVote(0, 5, 2))).not.toBe(infractionKey(a));
    expect(infractionKey(doubleProposal(0, 5, 1))).not.toBe(infractionKey(a));
  });
});
