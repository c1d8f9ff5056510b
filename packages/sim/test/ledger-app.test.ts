import { toHex } from '@synod/crypto';
import { POWER_REDUCTION } from '@synod/ledger';
import {
  type Block,
  canonicalEvidence,
  decodeTx,
  EMPTY_COMMIT,
  type Evidence,
  encodeBlock,
  evidenceListHash,
  txsRoot,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import { applicationOf, SIM_CHAIN_ID, type SimApplication } from '../src/index.js';
import { type Fixture, firstBlock, fixture, GENESIS_MS } from './helpers.js';

/** Validator `v` of the fixture signs two different prevotes at (height, 0): duplicate-vote evidence. */
function doubleSign(f: Fixture, v: number, height: number, timeMs: number): Evidence {
  const val = f.set.validators[v];
  if (val === undefined) throw new Error('no validator');
  const vote = (blockHash: Uint8Array | null) => {
    const body = { type: 'prevote' as const, height, round: 0, blockHash, validatorAddress: val.address };
    const signature = f.oracle.sign(f.seeds[v] as Uint8Array, val.pubKey, voteSignBytes(SIM_CHAIN_ID, body));
    return { vote: body, signature };
  };
  return canonicalEvidence({
    kind: 'duplicate-vote',
    voteA: vote(new Uint8Array(32).fill(9)),
    voteB: vote(null),
    validatorPower: 10,
    totalVotingPower: 40,
    timeMs,
  });
}

/** The next block as validator `proposer` builds it on `app`, with the commit of the last block by `signers`. */
async function nextBlock(
  f: Fixture,
  app: SimApplication,
  last: Block,
  proposer: number,
  signers: readonly number[] = [0, 1, 2, 3],
  round = 0,
): Promise<Block> {
  const v = f.set.validators[proposer];
  if (v === undefined) throw new Error('no validator');
  return app.buildBlock({
    height: last.header.height + 1,
    round,
    proposerAddress: v.address,
    lastCommit: f.commit(last, signers),
    timeMs: last.header.timeMs + 1000,
  });
}

function withEvidence(block: Block, evidence: readonly Evidence[]): Block {
  return { ...block, header: { ...block.header, evidenceHash: evidenceListHash(evidence) }, evidence };
}

describe('ledger application', () => {
  it('builds blocks of signed transfers it validates, and every node reaches the same app hash', async () => {
    const f = await fixture('ledger');
    const a = await f.app();
    const b = await f.app();
    const b1 = await firstBlock(f, 0);
    expect(b1.txs.length).toBeGreaterThan(0);
    for (const tx of b1.txs) expect(decodeTx(tx).body.msg.kind).toBe('transfer');
    expect(await a.blockProblem(b1)).toBeUndefined();
    expect(await a.validateBlock(b1)).toBe(true);
    for (const app of [a, b]) await app.finalizeBlock(b1, f.commit(b1, [0, 1, 2]));
    expect(a.height()).toBe(1);
    expect(toHex(a.stateHash())).toBe(toHex(b.stateHash()));
    const b2 = await nextBlock(f, a, b1, 1);
    expect(await b.blockProblem(b2)).toBeUndefined();
    // Nonces moved on: the second block's transfers are new ones.
    const first = new Set(b1.txs.map(toHex));
    expect(b2.txs.some((tx) => !first.has(toHex(tx)))).toBe(true);
    const r2 = await a.finalizeBlock(b2, f.commit(b2, [0, 1, 2, 3]));
    await b.finalizeBlock(b2, f.commit(b2, [0, 1, 2, 3]));
    expect(toHex(a.stateHash())).toBe(toHex(b.stateHash()));
    // Nobody was punished: the set of height 3 is the genesis set's members.
    expect(r2.nextValidatorSet.validators.map((v) => toHex(v.address))).toEqual(
      f.set.validators.map((v) => toHex(v.address)),
    );
  });

  it('rejects blocks with invalid, duplicated or already committed evidence; punishes committed evidence', async () => {
    const f = await fixture('ledger');
    const storage = f.storage();
    const app = await storage.open();
    const other = await f.app();
    const b1 = await firstBlock(f, 0);
    for (const x of [app, other]) await x.finalizeBlock(b1, f.commit(b1, [0, 1, 2]));
    const ev = doubleSign(f, 3, 1, b1.header.timeMs);
    expect(app.evidence?.add(ev).status).toBe('added');
    expect(app.evidence?.add(ev).status).toBe('duplicate');
    const b2 = await nextBlock(f, app, b1, 1);
    expect(b2.evidence).toHaveLength(1);
    // Valid for a node whose pool never saw the evidence (it verifies it in full).
    expect(await other.blockProblem(b2)).toBeUndefined();
    expect(await app.blockProblem(withEvidence(b2, [ev, ev]))).toBe('duplicate evidence in block');
    const forged: Evidence =
      ev.kind === 'duplicate-vote'
        ? { ...ev, voteB: { ...ev.voteB, signature: new Uint8Array(64).fill(3) } }
        : ev;
    expect(await other.blockProblem(withEvidence(b2, [forged]))).toMatch(/^invalid evidence/);
    expect(await other.blockProblem(withEvidence(b2, [{ ...ev, validatorPower: 11 }]))).toMatch(
      /^invalid evidence/,
    );
    expect(await other.blockProblem(withEvidence(b2, [doubleSign(f, 3, 2, b1.header.timeMs)]))).toMatch(
      /^invalid evidence/,
    );
    // Committed: validator 3 is slashed 5%, jailed for ever and tombstoned, and leaves the set at 2 + 2.
    for (const x of [app, other]) await x.finalizeBlock(b2, f.commit(b2, [0, 1, 2, 3]));
    expect(app.evidence?.pendingCount).toBe(0);
    const byz = f.set.validators[3]?.address as Uint8Array;
    for (const x of [app, other]) {
      expect(x.slashing?.status(byz)).toEqual({
        bondedStake: 10n * POWER_REDUCTION - POWER_REDUCTION / 2n,
        jailed: true,
        jailedForever: true,
        tombstoned: true,
        downtimeJails: 0,
        equivocations: 1,
        totalBurned: POWER_REDUCTION / 2n,
      });
      expect(
        x.slashing?.lastPunishments().map((p) => [toHex(p.validator), p.reason, p.infractionHeight]),
      ).toEqual([[toHex(byz), 'double-sign', 1]]);
      expect(validatorIndex(x.validatorSetAt(3) ?? { validators: [] }, byz)).toBeGreaterThanOrEqual(0);
      expect(validatorIndex(x.validatorSetAt(4) ?? { validators: [] }, byz)).toBe(-1);
      for (const honest of [0, 1, 2])
        expect(x.slashing?.status(f.set.validators[honest]?.address as Uint8Array)?.jailed).toBe(false);
    }
    // Another equivocation of the tombstoned validator: no pool keeps it (it cannot be punished again).
    const again = doubleSign(f, 3, 2, b2.header.timeMs);
    for (const x of [app, other]) {
      expect(x.evidence?.add(again).status).toBe('committed');
      expect(x.evidence?.pendingCount).toBe(0);
    }
    expect(await app.slashing?.punishedAt(2)).toBe(await other.slashing?.punishedAt(2));
    expect(await app.slashing?.punishedAt(1)).not.toBe(await app.slashing?.punishedAt(2));
    // The same evidence again: already committed, also after the node restarts (its pool is memory).
    const b3 = await nextBlock(f, app, b2, 2);
    expect(b3.evidence).toHaveLength(0);
    expect(await app.blockProblem(withEvidence(b3, [ev]))).toBe('evidence already committed');
    const restarted = await storage.open();
    expect(restarted.height()).toBe(2);
    expect(await restarted.blockProblem(withEvidence(b3, [ev]))).toBe('evidence already committed');
    expect(restarted.evidence?.add(ev).status).toBe('committed');
    expect(await restarted.blockProblem(b3)).toBeUndefined();
  });

  it('a Byzantine proposer corrupts blocks in four ways, each rejected', async () => {
    const f = await fixture('ledger');
    const app = await f.app();
    const b1 = await firstBlock(f, 0);
    await app.finalizeBlock(b1, f.commit(b1, [0, 1, 2]));
    const b2 = withEvidence(await nextBlock(f, app, b1, 1), [doubleSign(f, 3, 1, b1.header.timeMs)]);
    expect(await app.blockProblem(b2)).toBeUndefined();
    await app.finalizeBlock(b2, f.commit(b2, [0, 1, 2, 3]));
    const reasons = new Set<string>();
    for (let round = 0; round < 40 && reasons.size < 4; round++) {
      const good = await nextBlock(f, app, b2, round % 3, [0, 1, 2, 3], round);
      expect(await app.blockProblem(good)).toBeUndefined();
      const problem = await app.blockProblem(app.corrupt(good));
      expect(problem).toBeDefined();
      // The ledger says which transaction broke which rule.
      if (problem?.startsWith('transactions rejected'))
        expect(problem).toMatch(/^transactions rejected \(tx \d+: TX_BAD_SIGNATURE: /);
      reasons.add((problem as string).replace(/\(.*/, '').replace(/:.*/, '').trim());
    }
    expect([...reasons].sort()).toEqual([
      'evidence already committed',
      'invalid evidence',
      'transactions rejected',
      'wrong app hash',
    ]);
  });

  it('the block byte budget counts the header, the last commit and the evidence (#11.23)', async () => {
    const f = await fixture('ledger');
    // Block 2 (last commit of 4 signatures, one evidence item) as proposed without a byte limit.
    const chain = async (maxBytes: number, round: number): Promise<{ app: SimApplication; b2: Block }> => {
      const params = {
        ...f.genesis.params,
        block: { ...f.genesis.params.block, maxBytes },
        evidence: { ...f.genesis.params.evidence, maxBytes: 512 },
      };
      const app = await applicationOf('ledger')
        .createNode({ ...f.genesis, params })
        .open();
      const b1 = await app.buildBlock({
        height: 1,
        round: 0,
        proposerAddress: f.set.validators[0]?.address as Uint8Array,
        lastCommit: EMPTY_COMMIT,
        timeMs: GENESIS_MS + 1000,
      });
      await app.finalizeBlock(b1, f.commit(b1, [0, 1, 2, 3]));
      expect(app.evidence?.add(doubleSign(f, 3, 1, b1.header.timeMs)).status).toBe('added');
      return { app, b2: await nextBlock(f, app, b1, 1, [0, 1, 2, 3], round) };
    };
    // A round whose proposer puts several transfers in block 2.
    let round = 0;
    let free = await chain(f.genesis.params.block.maxBytes, round);
    while (free.b2.txs.length < 2 && round < 20) free = await chain(f.genesis.params.block.maxBytes, ++round);
    expect(free.b2.txs.length).toBeGreaterThan(1);
    expect(free.b2.evidence).toHaveLength(1);
    const full = encodeBlock(free.b2).length;
    const txBytes = free.b2.txs.reduce((a, tx) => a + tx.length + 4, 0);
    // Room for every transaction if only transactions counted, not for all of them in the block.
    const maxBytes = full - 1;
    expect(txBytes).toBeLessThan(maxBytes);
    const tight = await chain(maxBytes, round);
    const size = encodeBlock(tight.b2).length;
    expect(size).toBeLessThanOrEqual(maxBytes);
    expect(tight.b2.evidence).toHaveLength(1);
    expect(tight.b2.txs.length).toBeGreaterThan(0);
    expect(tight.b2.txs.length).toBeLessThan(free.b2.txs.length);
    expect(await tight.app.blockProblem(tight.b2)).toBeUndefined();
    // The same block with every transaction is above block.maxBytes: refused.
    const over: Block = {
      ...tight.b2,
      header: { ...tight.b2.header, txsRoot: txsRoot(free.b2.txs) },
      txs: free.b2.txs,
    };
    expect(encodeBlock(over).length).toBeGreaterThan(maxBytes);
    expect(await tight.app.blockProblem(over)).toMatch(/^block too large/);
  });

  it('jails a validator absent from a whole downtime window; it leaves the set two heights later', async () => {
    const f = await fixture('ledger');
    const app = await f.app();
    const w = f.genesis.params.slashing.signedBlocksWindow;
    const absent = f.set.validators[2]?.address as Uint8Array;
    let last = await firstBlock(f, 0);
    await app.finalizeBlock(last, f.commit(last, [0, 1, 3]));
    // Block h records the commit of h − 1: validator 2 misses blocks 1 .. w, recorded at 2 .. w + 1.
    for (let h = 2; h <= w + 1; h++) {
      const b = await nextBlock(f, app, last, h % 4, [0, 1, 3]);
      expect(await app.blockProblem(b)).toBeUndefined();
      await app.finalizeBlock(b, f.commit(b, [0, 1, 3]));
      const punished = app.slashing?.lastPunishments() ?? [];
      if (h <= w) expect(punished).toEqual([]);
      else expect(punished.map((p) => [toHex(p.validator), p.reason])).toEqual([[toHex(absent), 'downtime']]);
      last = b;
    }
    const st = app.slashing?.status(absent);
    expect(st).toMatchObject({ jailed: true, jailedForever: false, tombstoned: false, downtimeJails: 1 });
    expect(st?.totalBurned).toBe((10n * POWER_REDUCTION) / 100n);
    expect(validatorIndex(app.validatorSetAt(w + 2) ?? { validators: [] }, absent)).toBeGreaterThanOrEqual(0);
    expect(validatorIndex(app.validatorSetAt(w + 3) ?? { validators: [] }, absent)).toBe(-1);
    // The next blocks carry commits of the smaller set.
    expect(app.validatorSetAt(w + 3)?.validators).toHaveLength(3);
  });
});
