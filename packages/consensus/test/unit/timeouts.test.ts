import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { scaleTimeouts, timeoutMs } from '../../src/index.js';

describe('scaleTimeouts (node-local [consensus] timeout_scale)', () => {
  const t = DEFAULT_CONSENSUS_PARAMS.timeouts;

  it('1 keeps the chain timeouts', () => {
    expect(scaleTimeouts(t, 1)).toBe(t);
  });

  it('multiplies every round and commit timeout, whole milliseconds, at least 1', () => {
    const slow = scaleTimeouts(t, 2);
    expect(slow).toEqual({
      proposeMs: 2 * t.proposeMs,
      proposeDeltaMs: 2 * t.proposeDeltaMs,
      prevoteMs: 2 * t.prevoteMs,
      prevoteDeltaMs: 2 * t.prevoteDeltaMs,
      precommitMs: 2 * t.precommitMs,
      precommitDeltaMs: 2 * t.precommitDeltaMs,
      capMs: 2 * t.capMs,
      commitMs: 2 * t.commitMs,
    });
    expect(timeoutMs(slow, 'propose', 3)).toBe(2 * timeoutMs(t, 'propose', 3));
    const fast = scaleTimeouts({ ...t, commitMs: 3 }, 0.1);
    expect(fast.commitMs).toBe(1);
    expect(fast.proposeMs).toBe(Math.round(t.proposeMs * 0.1));
    for (const v of Object.values(fast)) expect(Number.isInteger(v) && v >= 1).toBe(true);
  });
});
