import { describe, expect, it } from 'vitest';
import { ConsensusCore, type CoreEffect, newValidatorSetPriorities } from '../../src/index.js';

const TIMEOUTS = {
  proposeMs: 1000,
  proposeDeltaMs: 0,
  prevoteMs: 1000,
  prevoteDeltaMs: 0,
  precommitMs: 1000,
  precommitDeltaMs: 0,
  capMs: 1000,
  commitMs: 0,
};

const addr = (i: number) => {
  const a = new Uint8Array(20);
  a[19] = i;
  return a;
};
const set = {
  validators: newValidatorSetPriorities(
    [0, 1, 2, 3].map((i) => ({ address: addr(i), votingPower: 1, proposerPriority: 0n })),
  ),
};

/** Locks validator 3 on A in round 0, then shows it B (pol = -1) in round 1; returns its round-1 prevote. */
function prevoteAfterLock(): CoreEffect<string> | undefined {
  const c = new ConsensusCore<string>({
    selfAddress: addr(3),
    timeouts: TIMEOUTS,
  });
  const feed = (effects: readonly CoreEffect<string>[]) => {
    // Deliver our own votes back, as the engine does after signing.
    for (const e of effects) {
      if (e.kind === 'broadcast-vote') {
        c.step({
          kind: 'vote',
          type: e.type,
          height: 1,
          round: e.round,
          valueId: e.valueId,
          validator: 3,
          signed: 'own',
        });
      }
    }
  };
  c.step({ kind: 'start-height', height: 1, validatorSet: set });
  const p0 = c.proposer(0);
  feed(c.step({ kind: 'block', height: 1, valueId: 'A', valid: true }));
  feed(
    c.step({ kind: 'proposal', height: 1, round: 0, polRound: -1, valueId: 'A', proposer: p0, signed: 'p0' }),
  );
  for (const v of [0, 1, 2]) {
    feed(
      c.step({
        kind: 'vote',
        type: 'prevote',
        height: 1,
        round: 0,
        valueId: 'A',
        validator: v,
        signed: `pv${v}`,
      }),
    );
  }
  expect(c.state()?.lockedValue).toBe('A');
  feed(c.step({ kind: 'timeout', step: 'precommit', height: 1, round: 0 }));
  const r = c.state()?.round ?? 0;
  const p1 = c.proposer(r);
  c.step({ kind: 'block', height: 1, valueId: 'B', valid: true });
  const out = c.step({
    kind: 'proposal',
    height: 1,
    round: r,
    polRound: -1,
    valueId: 'B',
    proposer: p1,
    signed: 'p1',
  });
  return out.find((e) => e.kind === 'broadcast-vote' && e.type === 'prevote');
}

describe('core: the lock at L22', () => {
  it('a validator locked on A prevotes nil for a fresh proposal of B (L23 -> L26)', () => {
    expect(prevoteAfterLock()).toMatchObject({ kind: 'broadcast-vote', type: 'prevote', valueId: null });
  });
});
