import { toHex } from '@synod/crypto';
import {
  type Block,
  canonicalEvidence,
  type Evidence,
  evidenceListHash,
  type SignedVote,
  voteSignBytes,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import { SIM_CHAIN_ID, type SimApplication } from '../src/index.js';
import { type Fixture, firstBlock, fixture } from './helpers.js';

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
    expect(f.checkers.failure?.reason).toContain('does not have more than 2/3');
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
    const ev: Evidence = canonicalEvidence({
      kind: 'duplicate-vote',
      voteA: x,
      voteB: y,
      validatorPower: 10,
      totalVotingPower: 40,
      timeMs: b.header.timeMs,
    });
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
    f.checkers.onEvidence(
      1,
      canonicalEvidence({
        kind: 'duplicate-vote',
        voteA: vote(f, 0, new Uint8Array(32).fill(1)),
        voteB: vote(f, 0, null),
        validatorPower: 10,
        totalVotingPower: 40,
        timeMs: b.header.timeMs,
      }),
    );
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
  });

  it('evidence-invalid: evidence with a forged signature fails', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    const forged = vote(f, 3, null);
    f.checkers.onEvidence(
      1,
      canonicalEvidence({
        kind: 'duplicate-vote',
        voteA: vote(f, 3, new Uint8Array(32).fill(1)),
        voteB: { ...forged, signature: new Uint8Array(64).fill(7) },
        validatorPower: 10,
        totalVotingPower: 40,
        timeMs: b.header.timeMs,
      }),
    );
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'evidence-invalid' });
    expect(f.checkers.failure?.reason).toContain('signature');
  });

  it('state: a node whose application state differs from the reference fails', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.checkState(0, 1, new Uint8Array(32));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'state' });
  });

  it("state: a node whose next validator set differs from the reference's (members, powers or priorities) fails", async () => {
    const f = await fixture('ledger');
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    const node = await f.app();
    const result = await node.finalizeBlock(b, f.commit(b, [0, 1, 2]));
    f.checkers.checkNextSet(0, 2, result.nextValidatorSet);
    expect(f.checkers.failure).toBeUndefined();
    const [first, ...rest] = result.nextValidatorSet.validators;
    if (first === undefined) throw new Error('empty set');
    f.checkers.checkNextSet(0, 2, {
      validators: [{ ...first, proposerPriority: first.proposerPriority + 1n }, ...rest],
    });
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'state' });
  });

  it('keep the first failure', async () => {
    const f = await fixture();
    f.checkers.fail('liveness', 'liveness', 'first');
    f.checkers.fail('safety', 'agreement', 'second');
    expect(f.checkers.failure?.reason).toBe('first');
  });
});

/** Validator `v` signs two different prevotes at (height, 0): duplicate-vote evidence. */
function doubleSign(f: Fixture, v: number, height: number, timeMs: number): Evidence {
  const val = f.set.validators[v];
  if (val === undefined) throw new Error('no validator');
  const vote = (blockHash: Uint8Array | null): SignedVote => {
    const body = { type: 'prevote' as const, height, round: 0, blockHash, validatorAddress: val.address };
    return {
      vote: body,
      signature: f.oracle.sign(f.seeds[v] as Uint8Array, val.pubKey, voteSignBytes(SIM_CHAIN_ID, body)),
    };
  };
  return canonicalEvidence({
    kind: 'duplicate-vote',
    voteA: vote(new Uint8Array(32).fill(5)),
    voteB: vote(null),
    validatorPower: 10,
    totalVotingPower: 40,
    timeMs,
  });
}

/**
 * A chain decided by node 0 on the ledger fixture: `blocks` blocks built by a
 * node's application (which executes them too), each commit signed by
 * `signers`, block 2 carrying `evidence` (made once block 1 is known).
 */
async function ledgerChain(
  f: Fixture,
  blocks: number,
  signers: readonly number[],
  evidence: (b1: Block) => readonly Evidence[] = () => [],
): Promise<{ readonly node: SimApplication; readonly last: Block }> {
  const node = await f.app();
  let last = await firstBlock(f, 0);
  for (let h = 1; h <= blocks; h++) {
    if (h > 1) {
      const proposer = f.set.validators[h % 3];
      if (proposer === undefined) throw new Error('no validator');
      const built = await node.buildBlock({
        height: h,
        round: 0,
        proposerAddress: proposer.address,
        lastCommit: f.commit(last, signers),
        timeMs: last.header.timeMs + 1000,
      });
      const ev = h === 2 ? evidence(last) : [];
      last = { ...built, header: { ...built.header, evidenceHash: evidenceListHash(ev) }, evidence: ev };
    }
    const commit = f.commit(last, signers);
    await f.checkers.onDecide(0, last, commit);
    await node.finalizeBlock(last, commit);
  }
  return { node, last };
}

describe('checkers of punishments (ledger application)', () => {
  it("honest-accused: an honest node's evidence pool accepting evidence against an honest validator fails", async () => {
    const f = await fixture('ledger');
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.onPoolAdd(1, doubleSign(f, 3, 1, b.header.timeMs), { status: 'added' });
    expect(f.checkers.failure).toBeUndefined();
    f.checkers.onPoolAdd(1, doubleSign(f, 0, 1, b.header.timeMs), {
      status: 'invalid',
      problem: { code: 'BAD_SIGNATURE', reason: 'x' },
    });
    expect(f.checkers.failure).toBeUndefined();
    f.checkers.onPoolAdd(1, doubleSign(f, 0, 1, b.header.timeMs), { status: 'added' });
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
  });

  it('honest-accused: a decided block carrying evidence against an honest validator fails', async () => {
    const f = await fixture('ledger');
    await ledgerChain(f, 2, [0, 1, 2, 3], (b1) => [doubleSign(f, 0, 1, b1.header.timeMs)]);
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
    expect(f.checkers.failure?.reason).toContain('honest validator 0');
  });

  it("the Byzantine validator's committed equivocation is punished; the final checks pass, and catch a node that did not punish it", async () => {
    const f = await fixture('ledger');
    const { node } = await ledgerChain(f, 3, [0, 1, 2, 3], (b1) => [doubleSign(f, 3, 1, b1.header.timeMs)]);
    expect(f.checkers.failure).toBeUndefined();
    expect(f.checkers.punishments.map((p) => [p.index, p.reason, p.height])).toEqual([[3, 'double-sign', 2]]);
    expect(f.checkers.punishmentStats()).toMatchObject({
      evidenceCommitted: 1,
      doubleSign: 1,
      tombstoned: 1,
      jailed: 1,
    });
    await f.checkers.finalCheck([{ index: 0, honest: true, up: true, app: node }]);
    expect(f.checkers.failure).toBeUndefined();
    const slashing = node.slashing as NonNullable<SimApplication['slashing']>;
    // A node whose application forgot the tombstone (a stand-in that answers everything else as the node).
    const lying: SimApplication = {
      height: () => node.height(),
      validatorSetAt: (h) => node.validatorSetAt(h),
      blockProblem: (b) => node.blockProblem(b),
      stateHash: () => node.stateHash(),
      corrupt: (b) => node.corrupt(b),
      buildBlock: (r) => node.buildBlock(r),
      validateBlock: (b) => node.validateBlock(b),
      finalizeBlock: (b, c) => node.finalizeBlock(b, c),
      slashing: {
        ...slashing,
        status: (a: Uint8Array) => {
          const st = slashing.status(a);
          return st === undefined ? undefined : { ...st, tombstoned: false };
        },
      },
    };
    await f.checkers.finalCheck([{ index: 1, honest: true, up: true, app: lying }]);
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'punishment' });
    expect(f.checkers.failure?.reason).toContain('not slashed, jailed for ever and tombstoned');
  });

  it('honest-punished: an honest validator absent from a whole downtime window fails; a Byzantine one must be jailed', async () => {
    const w = (await fixture('ledger')).genesis.params.slashing.signedBlocksWindow;
    const byz = await fixture('ledger');
    const { node } = await ledgerChain(byz, w + 1, [0, 1, 2]);
    expect(byz.checkers.failure).toBeUndefined();
    expect(byz.checkers.punishments.map((p) => [p.index, p.reason, p.height])).toEqual([
      [3, 'downtime', w + 1],
    ]);
    await byz.checkers.finalCheck([{ index: 0, honest: true, up: true, app: node }]);
    expect(byz.checkers.failure).toBeUndefined();
    const honest = await fixture('ledger');
    await ledgerChain(honest, w + 1, [0, 1, 3]);
    expect(honest.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-punished' });
    expect(honest.checkers.failure?.reason).toContain(
      `honest validator 2 was jailed for downtime at height ${w + 1}`,
    );
  });

  it('evidence an honest node saw: accepted as lost when every pool that held it crashed, stuck while a pool holds it', async () => {
    const lost = await fixture('ledger');
    const a = await ledgerChain(lost, 2, [0, 1, 2, 3]);
    const b1Time = (await firstBlock(lost, 0)).header.timeMs;
    lost.checkers.onPoolAdd(1, doubleSign(lost, 3, 1, b1Time), { status: 'added' });
    lost.checkers.onCrash(1);
    await lost.checkers.finalCheck([{ index: 0, honest: true, up: true, app: a.node }]);
    expect(lost.checkers.failure).toBeUndefined();
    expect(lost.checkers.notes.join()).toContain('held only by node 1, crashed before a block carried it');
    expect(lost.checkers.punishmentStats().evidenceLost).toBe(1);
    const stuck = await fixture('ledger');
    const s = await ledgerChain(stuck, 2, [0, 1, 2, 3]);
    const ev = doubleSign(stuck, 3, 1, b1Time);
    expect(s.node.evidence?.add(ev).status).toBe('added');
    stuck.checkers.onPoolAdd(0, ev, { status: 'added' });
    await stuck.checkers.finalCheck([{ index: 0, honest: true, up: true, app: s.node }]);
    expect(stuck.checkers.failure).toMatchObject({ check: 'evidence-stuck' });
  });
});
