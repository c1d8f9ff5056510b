import { toHex } from '@synod/crypto';
import { type Evidence, type SignedVote, voteSignBytes } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { SIM_CHAIN_ID } from '../src/index.js';
import { firstBlock, fixture } from './helpers.js';

describe('checkers', () => {
  it('accept one block decided by every node', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    for (const node of [0, 1, 2]) await f.checkers.onDecide(node, b, f.commit(b, [0, 1, 2]));
    expect(f.checkers.failure).toBeUndefined();
    expect(f.checkers.height).toBe(1);
  });

  it('agreement: two nodes deciding different blocks at one height is a safety failure', async () => {
    const f = await fixture();
    const a = await firstBlock(f, 0);
    const b = await firstBlock(f, 1);
    await f.checkers.onDecide(0, a, f.commit(a, [0, 1, 3]));
    expect(f.checkers.failure).toBeUndefined();
    await f.checkers.onDecide(1, b, f.commit(b, [1, 2, 3]));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'agreement' });
  });

  it('validity: a decision without a quorum commit fails', async () => {
    const f = await fixture();
    const a = await firstBlock(f, 0);
    await f.checkers.onDecide(0, a, f.commit(a, [0, 1]));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'validity' });
    expect(f.checkers.failure?.reason).toContain('no quorum');
  });

  it('validity: a block the application rejects fails', async () => {
    const f = await fixture();
    const bad = (await f.app()).corrupt(await firstBlock(f, 0));
    await f.checkers.onDecide(0, bad, f.commit(bad, [0, 1, 2]));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'validity' });
    expect(f.checkers.failure?.reason).toContain('poisoned');
  });

  it('double-sign: an honest validator signing two different prevotes for one round fails', async () => {
    const f = await fixture();
    const base = { height: 3, round: 1, step: 'prevote' as const };
    f.checkers.onHonestSign(0, { ...base, signBytes: Uint8Array.of(1, 2, 3) });
    f.checkers.onHonestSign(0, { ...base, signBytes: Uint8Array.of(1, 2, 3) });
    expect(f.checkers.failure).toBeUndefined();
    f.checkers.onHonestSign(0, { ...base, signBytes: Uint8Array.of(1, 2, 4) });
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'double-sign' });
  });

  const vote = (
    f: Awaited<ReturnType<typeof fixture>>,
    validator: number,
    blockHash: Uint8Array | null,
  ): SignedVote => {
    const v = f.set.validators[validator];
    if (v === undefined) throw new Error('no validator');
    const body = { type: 'prevote' as const, height: 1, round: 0, blockHash, validatorAddress: v.address };
    return {
      vote: body,
      signature: f.oracle.sign(f.seeds[validator] as Uint8Array, v.pubKey, voteSignBytes(SIM_CHAIN_ID, body)),
    };
  };

  it('evidence-missing: an equivocation a node saw must be reported by its decision', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    const seen = { kind: 'vote' as const, validator: 3, height: 1, round: 0, step: 'prevote' as const };
    f.checkers.onSeen(0, { ...seen, value: toHex(new Uint8Array(32).fill(1)) }, 0);
    f.checkers.onSeen(0, { ...seen, value: 'nil' }, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.evidenceDue(0, 1);
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'evidence-missing' });
  });

  it('evidence-missing: reported evidence discharges the obligation', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    const x = vote(f, 3, new Uint8Array(32).fill(1));
    const y = vote(f, 3, null);
    const seen = { kind: 'vote' as const, validator: 3, height: 1, round: 0, step: 'prevote' as const };
    f.checkers.onSeen(0, { ...seen, value: toHex(new Uint8Array(32).fill(1)) }, 0);
    f.checkers.onSeen(0, { ...seen, value: 'nil' }, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    const ev: Evidence = {
      kind: 'duplicate-vote',
      voteA: x,
      voteB: y,
      validatorPower: 10,
      totalVotingPower: 40,
      timeMs: b.header.timeMs,
    };
    f.checkers.onEvidence(0, ev);
    f.checkers.evidenceDue(0, 1);
    expect(f.checkers.failure).toBeUndefined();
    expect(f.checkers.infractions.size).toBe(1);
  });

  it('a crash forgets what the node saw (its WAL replay tells again)', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    const seen = { kind: 'vote' as const, validator: 3, height: 1, round: 0, step: 'prevote' as const };
    f.checkers.onSeen(0, { ...seen, value: 'aa' }, 0);
    f.checkers.onSeen(0, { ...seen, value: 'nil' }, 0);
    f.checkers.onCrash(0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.evidenceDue(0, 1);
    expect(f.checkers.failure).toBeUndefined();
  });

  it('honest-accused: evidence naming an honest validator fails', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.onEvidence(1, {
      kind: 'duplicate-vote',
      voteA: vote(f, 0, new Uint8Array(32).fill(1)),
      voteB: vote(f, 0, null),
      validatorPower: 10,
      totalVotingPower: 40,
      timeMs: b.header.timeMs,
    });
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
  });

  it('evidence-invalid: evidence with a forged signature fails', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    const forged = vote(f, 3, null);
    f.checkers.onEvidence(1, {
      kind: 'duplicate-vote',
      voteA: vote(f, 3, new Uint8Array(32).fill(1)),
      voteB: { ...forged, signature: new Uint8Array(64).fill(7) },
      validatorPower: 10,
      totalVotingPower: 40,
      timeMs: b.header.timeMs,
    });
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'evidence-invalid' });
  });

  it('state: a node whose application state differs from the reference fails', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.checkState(0, 1, new Uint8Array(32));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'state' });
  });

  it('keep the first failure', async () => {
    const f = await fixture();
    f.checkers.fail('liveness', 'liveness', 'first');
    f.checkers.fail('safety', 'agreement', 'second');
    expect(f.checkers.failure?.reason).toBe('first');
  });
});
