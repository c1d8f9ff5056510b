import { toHex } from '@synod/crypto';
import { blockHash, canonicalEvidence, commitHash, type Evidence, txHash } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  type ChainReference,
  Checkers,
  corruptBlock,
  reassemble,
  SIM_CHAIN_ID,
  type SlashingView,
} from '../src/index.js';
import { decidedChain, doubleSign, firstBlock, fixture, nextBlock, prevote } from './helpers.js';

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

  it("validity: a block @synod/node's checks reject fails (a wrong app hash)", async () => {
    const f = await fixture();
    const good = await firstBlock(f, 0);
    const appHash = good.header.appHash.slice();
    appHash[0] = (appHash[0] as number) ^ 0xff;
    const bad = reassemble(good, good.txs, good.evidence, appHash);
    await f.checkers.onDecide(0, bad, f.commit(bad, [0, 1, 2]));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'validity' });
    expect(f.checkers.failure?.reason).toContain('WRONG_APP_HASH');
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

  it("round-skip: an honest validator signing in a round past the one after the honest validators' highest fails", async () => {
    const f = await fixture();
    const sign = (v: number, round: number, step: 'prevote' | 'precommit' | 'proposal' = 'prevote') =>
      f.checkers.onHonestSign(v, { height: 5, round, step, signBytes: Uint8Array.of(v, round) });
    sign(0, 0);
    sign(1, 1); // by its timeouts after round 0, in which an honest validator signed
    sign(2, 2, 'precommit');
    sign(0, 2); // a round skip to a round an honest validator is in
    f.checkers.onHonestSign(1, { height: 6, round: 1, step: 'prevote', signBytes: Uint8Array.of(9) });
    expect(f.checkers.failure).toBeUndefined();
    sign(1, 4); // no honest validator signed in round 3: led there by the Byzantine validators alone
    expect(f.checkers.failure).toMatchObject({ class: 'liveness', check: 'round-skip' });
  });

  const seen = { kind: 'vote' as const, validator: 3, height: 1, round: 0, step: 'prevote' as const };

  it('evidence-missing: an equivocation a node saw must be in its pool by its decision', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    f.checkers.onSeen(0, { ...seen, value: toHex(new Uint8Array(32).fill(1)) }, 0);
    f.checkers.onSeen(0, { ...seen, value: 'nil' }, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.evidenceDue(0, 1);
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'evidence-missing' });
  });

  it('evidence-missing: reported evidence discharges the obligation, and so does pooled evidence of the same validator and height', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    f.checkers.onSeen(0, { ...seen, value: toHex(new Uint8Array(32).fill(1)) }, 0);
    f.checkers.onSeen(0, { ...seen, value: 'nil' }, 0);
    // Node 1 saw the same validator equivocate in another round of the height: one punishment per height.
    f.checkers.onSeen(1, { ...seen, round: 1, value: toHex(new Uint8Array(32).fill(1)) }, 0);
    f.checkers.onSeen(1, { ...seen, round: 1, value: 'nil' }, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    const ev = doubleSign(f, 3, 1, b.header.timeMs);
    f.checkers.onEvidence(0, ev);
    f.checkers.onPoolAdd(0, ev);
    f.checkers.onPoolAdd(1, ev);
    f.checkers.evidenceDue(0, 1);
    f.checkers.evidenceDue(1, 1);
    expect(f.checkers.failure).toBeUndefined();
    expect(f.checkers.infractions.size).toBe(1);
  });

  it('a crash forgets what the node saw (its WAL replay tells again)', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
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
    f.checkers.onEvidence(1, doubleSign(f, 0, 1, b.header.timeMs));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
  });

  it('evidence-invalid: evidence with a forged signature fails', async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    const forged = prevote(f, 3, 1, null);
    f.checkers.onEvidence(
      1,
      canonicalEvidence({
        kind: 'duplicate-vote',
        voteA: prevote(f, 3, 1, new Uint8Array(32).fill(1)),
        voteB: { ...forged, signature: new Uint8Array(64).fill(7) },
        validatorPower: 10,
        totalVotingPower: 40,
        timeMs: b.header.timeMs,
      }),
    );
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'evidence-invalid' });
    expect(f.checkers.failure?.reason).toContain('signature');
  });

  it("state: a node whose app hash differs from the decided chain's fails, whether it reports before or after the reference executes", async () => {
    const early = await fixture();
    const b = await firstBlock(early, 0);
    const decided = early.checkers.onDecide(0, b, early.commit(b, [0, 1, 2]));
    early.checkers.onAppHash(1, 1, blockHash(b), new Uint8Array(32));
    await decided;
    expect(early.checkers.failure).toMatchObject({ class: 'safety', check: 'state' });
    const late = await fixture();
    await late.checkers.onDecide(0, b, late.commit(b, [0, 1, 2]));
    late.checkers.onAppHash(1, 1, blockHash(b), late.reference.stateHash());
    expect(late.checkers.failure).toBeUndefined();
    late.checkers.onAppHash(2, 1, blockHash(b), new Uint8Array(32));
    // Another block at that height is not the state checker's: agreement reports it.
    const other = await firstBlock(late, 1);
    const fresh = await fixture();
    await fresh.checkers.onDecide(0, b, fresh.commit(b, [0, 1, 2]));
    fresh.checkers.onAppHash(1, 1, blockHash(other), new Uint8Array(32));
    expect(fresh.checkers.failure).toBeUndefined();
    expect(late.checkers.failure).toMatchObject({ class: 'safety', check: 'state' });
  });

  it('tx: every committed transaction is reported; one committed twice, or whose result is not OK, fails', async () => {
    // The reference would refuse such blocks (validity); a reference that lets them through shows the tx checks fail on their own.
    const build = async (result: string) => {
      const f = await fixture();
      const committed: string[] = [];
      const real = f.reference;
      const lenient: ChainReference = {
        get height() {
          return real.height;
        },
        validatorSetAt: (h) => real.validatorSetAt(h),
        blockProblem: async () => undefined,
        execute: async (block) => ({
          txResults: block.txs.map(() => ({ code: result as 'OK', log: result, gasUsed: 0, events: [] })),
          validatorUpdates: [],
          appHash: new Uint8Array(32),
        }),
        stateHash: () => real.stateHash(),
        slashing: real.slashing,
      };
      const checkers = new Checkers({
        chainId: SIM_CHAIN_ID,
        addresses: f.set.validators.map((v) => v.address),
        honest: [true, true, true, false],
        params: f.chain.params,
        verify: f.oracle.verify,
        reference: lenient,
        now: () => 0,
        onTxCommitted: (hash) => committed.push(hash),
      });
      return { f, checkers, committed };
    };
    const ok = await build('OK');
    const tx = ok.f.chain.transfer({ sender: 0, nonce: 0, to: 1, amount: 5n });
    const node = await ok.f.node();
    const b1 = reassemble(await nextBlock(ok.f, node, undefined, 0), [tx], []);
    const c1 = ok.f.commit(b1, [0, 1, 2]);
    await ok.checkers.onDecide(0, b1, c1);
    expect(ok.checkers.failure).toBeUndefined();
    expect(ok.committed).toEqual([toHex(txHash(tx))]);
    // the next height, on b1, with its commit (the checkers verify a decided block's last commit)
    const b2 = reassemble(
      {
        ...b1,
        header: {
          ...b1.header,
          height: 2,
          timeMs: b1.header.timeMs + 1,
          lastBlockHash: blockHash(b1),
          lastCommitHash: commitHash(c1),
        },
        lastCommit: c1,
      },
      [tx],
      [],
    );
    await ok.checkers.onDecide(0, b2, ok.f.commit(b2, [0, 1, 2]));
    expect(ok.checkers.failure).toMatchObject({ class: 'safety', check: 'tx' });
    expect(ok.checkers.failure?.reason).toContain('committed twice');
    const failed = await build('TX_INSUFFICIENT_FUNDS');
    await failed.checkers.onDecide(0, b1, failed.f.commit(b1, [0, 1, 2]));
    expect(failed.checkers.failure).toMatchObject({ class: 'safety', check: 'tx' });
    expect(failed.checkers.failure?.reason).toContain('TX_INSUFFICIENT_FUNDS');
  });

  it('keep the first failure', async () => {
    const f = await fixture();
    f.checkers.fail('liveness', 'liveness', 'first');
    f.checkers.fail('safety', 'agreement', 'second');
    expect(f.checkers.failure?.reason).toBe('first');
  });
});

describe('checkers of punishments', () => {
  it("honest-accused: an honest node's evidence pool accepting evidence against an honest validator fails", async () => {
    const f = await fixture();
    const b = await firstBlock(f, 0);
    await f.checkers.onDecide(0, b, f.commit(b, [0, 1, 2]));
    f.checkers.onPoolAdd(1, doubleSign(f, 3, 1, b.header.timeMs));
    expect(f.checkers.failure).toBeUndefined();
    f.checkers.onPoolAdd(1, doubleSign(f, 0, 1, b.header.timeMs));
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
  });

  it('honest-accused: a decided block carrying evidence against an honest validator fails', async () => {
    const f = await fixture();
    await decidedChain(f, 2, [0, 1, 2, 3], (b1) => [doubleSign(f, 0, 1, b1.header.timeMs)]);
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-accused' });
    expect(f.checkers.failure?.reason).toContain('honest validator 0');
  });

  it("the Byzantine validator's committed equivocation is punished; the final checks pass, and catch a node that did not punish it", async () => {
    const f = await fixture();
    const { node } = await decidedChain(f, 3, [0, 1, 2, 3], (b1) => [doubleSign(f, 3, 1, b1.header.timeMs)]);
    expect(f.checkers.failure).toBeUndefined();
    expect(f.checkers.punishments.map((p) => [p.index, p.reason, p.height])).toEqual([[3, 'double-sign', 2]]);
    expect(f.checkers.punishmentStats()).toMatchObject({
      evidenceCommitted: 1,
      doubleSign: 1,
      tombstoned: 1,
      jailed: 1,
    });
    await f.checkers.finalCheck([{ index: 0, honest: true, up: true, view: node.view() }]);
    expect(f.checkers.failure).toBeUndefined();
    // A node whose ledger forgot the tombstone (a stand-in that answers everything else as the node).
    const slashing: SlashingView = {
      ...node.slashing,
      status: (a: Uint8Array) => {
        const st = node.slashing.status(a);
        return st === undefined ? undefined : { ...st, tombstoned: false };
      },
    };
    await f.checkers.finalCheck([{ index: 1, honest: true, up: true, view: { ...node.view(), slashing } }]);
    expect(f.checkers.failure).toMatchObject({ class: 'safety', check: 'punishment' });
    expect(f.checkers.failure?.reason).toContain('not slashed, jailed for ever and tombstoned');
  });

  it('honest-punished: an honest validator absent from a whole downtime window fails; a Byzantine one must be jailed', async () => {
    const w = (await fixture()).chain.params.slashing.signedBlocksWindow;
    const byz = await fixture();
    const { node } = await decidedChain(byz, w + 1, [0, 1, 2]);
    expect(byz.checkers.failure).toBeUndefined();
    expect(byz.checkers.punishments.map((p) => [p.index, p.reason, p.height])).toEqual([
      [3, 'downtime', w + 1],
    ]);
    await byz.checkers.finalCheck([{ index: 0, honest: true, up: true, view: node.view() }]);
    expect(byz.checkers.failure).toBeUndefined();
    const honest = await fixture();
    await decidedChain(honest, w + 1, [0, 1, 3]);
    expect(honest.checkers.failure).toMatchObject({ class: 'safety', check: 'honest-punished' });
    expect(honest.checkers.failure?.reason).toContain(
      `honest validator 2 was jailed for downtime at height ${w + 1}`,
    );
  });

  it('evidence an honest pool took must be committed: stuck while a pool still holds it, a failure when it vanished', async () => {
    const stuck = await fixture();
    const s = await decidedChain(stuck, 2, [0, 1, 2, 3]);
    const b1Time = (await firstBlock(stuck, 0)).header.timeMs;
    const ev = doubleSign(stuck, 3, 1, b1Time);
    stuck.checkers.onPoolAdd(0, ev);
    const holding = { ...s.node.view(), pendingEvidence: async (): Promise<Evidence[]> => [ev] };
    await stuck.checkers.finalCheck([{ index: 0, honest: true, up: true, view: holding }]);
    expect(stuck.checkers.failure).toMatchObject({ check: 'evidence-stuck' });
    const vanished = await fixture();
    const v = await decidedChain(vanished, 2, [0, 1, 2, 3]);
    vanished.checkers.onPoolAdd(1, doubleSign(vanished, 3, 1, b1Time));
    await vanished.checkers.finalCheck([{ index: 0, honest: true, up: true, view: v.node.view() }]);
    expect(vanished.checkers.failure).toMatchObject({ check: 'punishment' });
    expect(vanished.checkers.failure?.reason).toContain('left the pools of nodes 1 without being committed');
  });

  it('a corrupted block of each kind is refused by the reference (the Byzantine proposer cannot get it decided)', async () => {
    const f = await fixture();
    const { node, last } = await decidedChain(f, 2, [0, 1, 2, 3], (b1) => [
      doubleSign(f, 3, 1, b1.header.timeMs),
    ]);
    const reasons = new Set<string>();
    for (let proposer = 0; proposer < 4 && reasons.size < 4; proposer++) {
      for (let k = 0; k < 40 && reasons.size < 4; k++) {
        const next = await nextBlock(f, node, last, proposer);
        const variant = { ...next, header: { ...next.header, timeMs: next.header.timeMs + k } };
        const bad = corruptBlock(variant, f.chain, f.reference);
        const problem = await node.blockProblem(bad);
        expect(problem).toBeDefined();
        reasons.add((problem ?? '').split(':')[0] as string);
      }
    }
    expect(reasons.has('APP_REJECTED')).toBe(true);
    expect(reasons.has('BAD_EVIDENCE')).toBe(true);
    expect(reasons.has('WRONG_APP_HASH')).toBe(true);
  });
});
