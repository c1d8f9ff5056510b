import { toHex } from '@synod/crypto';
import { blockHash, EMPTY_COMMIT } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { firstBlock, fixture } from './helpers.js';

describe('counter application', () => {
  it('validates the blocks it builds, and chains them', async () => {
    const f = await fixture();
    const app = await f.app();
    const b1 = await firstBlock(f, 0);
    expect(await app.blockProblem(b1)).toBeUndefined();
    expect(await app.validateBlock(b1)).toBe(true);
    const result = await app.finalizeBlock(b1, f.commit(b1, [0, 1, 2]));
    expect(app.height()).toBe(1);
    expect(result.nextValidatorSet.validators).toHaveLength(4);
    const v = f.set.validators[1];
    if (v === undefined) throw new Error('no validator');
    const b2 = await app.buildBlock({
      height: 2,
      round: 0,
      proposerAddress: v.address,
      lastCommit: f.commit(b1, [0, 1, 2]),
      timeMs: 0,
    });
    expect(toHex(b2.header.lastBlockHash)).toBe(toHex(blockHash(b1)));
    expect(b2.header.timeMs).toBeGreaterThan(b1.header.timeMs);
    expect(await app.blockProblem(b2)).toBeUndefined();
  });

  it('rejects what a Byzantine proposer might send', async () => {
    const f = await fixture();
    const app = await f.app();
    const b1 = await firstBlock(f, 0);
    expect(await app.blockProblem(app.corrupt(b1))).toBe('poisoned transaction');
    expect(await app.blockProblem({ ...b1, header: { ...b1.header, height: 2 } })).toMatch(/height/);
    expect(
      await app.blockProblem({ ...b1, header: { ...b1.header, proposerAddress: new Uint8Array(20) } }),
    ).toMatch(/proposer/);
    expect(await app.blockProblem({ ...b1, txs: [] })).toMatch(/txsRoot/);
    await app.finalizeBlock(b1, f.commit(b1, [0, 1, 2]));
    const v = f.set.validators[0];
    if (v === undefined) throw new Error('no validator');
    const noQuorum = await app.buildBlock({
      height: 2,
      round: 0,
      proposerAddress: v.address,
      lastCommit: f.commit(b1, [0, 1]),
      timeMs: 0,
    });
    expect(await app.blockProblem(noQuorum)).toMatch(/does not have more than 2\/3/);
    const noCommit = await app.buildBlock({
      height: 2,
      round: 0,
      proposerAddress: v.address,
      lastCommit: EMPTY_COMMIT,
      timeMs: 0,
    });
    expect(await app.blockProblem(noCommit)).toBeDefined();
  });

  it('is deterministic: the same blocks give the same state on every node', async () => {
    const f = await fixture();
    const a = await f.app();
    const b = await f.app();
    const b1 = await firstBlock(f, 2);
    for (const app of [a, b]) await app.finalizeBlock(b1, f.commit(b1, [0, 1, 2]));
    expect(toHex(a.stateHash())).toBe(toHex(b.stateHash()));
  });
});
