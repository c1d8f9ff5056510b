import { describe, expect, it } from 'vitest';
import {
  ConsensusCore,
  type CoreEffect,
  type CoreInput,
  commitTimeoutMs,
  DEFAULT_FUTURE_ROUND_QUOTA,
  newValidatorSetPriorities,
  ROUND_LOOKAHEAD_MAX,
  type TimeoutParams,
  timeoutMs,
} from '../../src/index.js';

const TIMEOUTS: TimeoutParams = {
  proposeMs: 3000,
  proposeDeltaMs: 500,
  prevoteMs: 1000,
  prevoteDeltaMs: 400,
  precommitMs: 1000,
  precommitDeltaMs: 300,
  capMs: 4000,
  commitMs: 700,
};

function addr(i: number): Uint8Array {
  const a = new Uint8Array(20);
  a[19] = i;
  return a;
}

const set = {
  validators: newValidatorSetPriorities(
    [0, 1, 2, 3].map((i) => ({ address: addr(i), votingPower: 1, proposerPriority: 0n })),
  ),
};

type Msg = { readonly tag: string };

function core(self: number | null = 3, trace?: (l: number) => void) {
  const c = new ConsensusCore<Msg>({
    selfAddress: self === null ? null : addr(self),
    timeouts: TIMEOUTS,
    trace,
  });
  return c;
}

const vote = (
  type: 'prevote' | 'precommit',
  round: number,
  validator: number,
  valueId: string | null,
  height = 1,
): CoreInput<Msg> => ({
  kind: 'vote',
  type,
  height,
  round,
  valueId,
  validator,
  signed: { tag: `${type}/${height}/${round}/${validator}/${valueId}` },
});

describe('ConsensusCore', () => {
  it('timeouts grow with the round and are capped', () => {
    expect(timeoutMs(TIMEOUTS, 'propose', 0)).toBe(3000);
    expect(timeoutMs(TIMEOUTS, 'propose', 1)).toBe(3500);
    expect(timeoutMs(TIMEOUTS, 'prevote', 2)).toBe(1800);
    expect(timeoutMs(TIMEOUTS, 'precommit', 3)).toBe(1900);
    expect(timeoutMs(TIMEOUTS, 'propose', 100)).toBe(4000);
    expect(commitTimeoutMs(TIMEOUTS)).toBe(700);
    const c = core();
    const [e] = c.step({ kind: 'start-height', height: 1, validatorSet: set, round: 2 });
    expect(e).toEqual({ kind: 'schedule-timeout', step: 'propose', height: 1, round: 2, durationMs: 4000 });
  });

  it('counts its own messages only once they are delivered back', () => {
    const c = core();
    c.step({ kind: 'start-height', height: 1, validatorSet: set });
    const out = c.step({
      kind: 'proposal',
      height: 1,
      round: 0,
      polRound: -1,
      valueId: 'A',
      proposer: 0,
      signed: { tag: 'p' },
      valid: true,
    });
    expect(out).toEqual([{ kind: 'broadcast-vote', type: 'prevote', height: 1, round: 0, valueId: 'A' }]);
    for (const v of [0, 1]) expect(c.step(vote('prevote', 0, v, 'A'))).toEqual([]);
    // 2 of 4: no polka until our own prevote comes back (once the signer signed it).
    expect(c.step(vote('prevote', 0, 3, 'A'))).toEqual([
      { kind: 'broadcast-vote', type: 'precommit', height: 1, round: 0, valueId: 'A' },
    ]);
  });

  it('a decision carries the commit (the signed precommits); the next height keeps only it', () => {
    const c = core();
    c.step({ kind: 'start-height', height: 1, validatorSet: set });
    c.step({
      kind: 'proposal',
      height: 1,
      round: 0,
      polRound: -1,
      valueId: 'A',
      proposer: 0,
      signed: { tag: 'p' },
      valid: true,
    });
    for (const v of [0, 1, 3]) c.step(vote('prevote', 0, v, 'A'));
    for (const v of [3, 0]) c.step(vote('precommit', 0, v, 'A'));
    const effects = c.step(vote('precommit', 0, 1, 'A'));
    const decide = effects.find((e) => e.kind === 'decide');
    expect(decide).toBeDefined();
    if (decide?.kind !== 'decide') return;
    expect(decide.commit.precommits).toEqual([
      { valueId: 'A', signed: { tag: 'precommit/1/0/0/A' } },
      { valueId: 'A', signed: { tag: 'precommit/1/0/1/A' } },
      undefined,
      { valueId: 'A', signed: { tag: 'precommit/1/0/3/A' } },
    ]);
    expect(c.state()?.decision).toBe('A');
    // Late precommits during the commit wait extend the current commit.
    c.step(vote('precommit', 0, 2, 'A'));
    expect(c.currentCommit()?.precommits[2]).toEqual({ valueId: 'A', signed: { tag: 'precommit/1/0/2/A' } });
    // The next height drops everything else, keeps the last commit.
    const next = c.step({ kind: 'start-height', height: 2, validatorSet: set });
    expect(next).toEqual([
      { kind: 'schedule-timeout', step: 'propose', height: 2, round: 0, durationMs: 3000 },
    ]);
    expect(c.lastCommit()).toMatchObject({ height: 1, round: 0, valueId: 'A' });
    expect(c.state()).toMatchObject({
      height: 2,
      round: 0,
      step: 'propose',
      decision: null,
      lockedValue: null,
    });
    // Old-height messages no longer do anything but complete the last commit.
    expect(c.step(vote('prevote', 0, 0, 'B', 1))).toEqual([]);
    expect(c.step({ kind: 'timeout', step: 'propose', height: 1, round: 0 })).toEqual([]);
    expect(c.lastCommit()?.precommits.filter((p) => p !== undefined)).toHaveLength(4);
  });

  it('is deterministic: the same inputs give the same effects', () => {
    const inputs: CoreInput<Msg>[] = [
      { kind: 'start-height', height: 1, validatorSet: set },
      {
        kind: 'proposal',
        height: 1,
        round: 0,
        polRound: -1,
        valueId: 'A',
        proposer: 0,
        signed: { tag: 'p' },
        valid: true,
      },
      vote('prevote', 0, 1, null),
      vote('prevote', 0, 2, 'B'),
      { kind: 'timeout', step: 'prevote', height: 1, round: 0 },
      vote('precommit', 0, 0, null),
      vote('precommit', 0, 1, null),
      { kind: 'timeout', step: 'precommit', height: 1, round: 0 },
      vote('prevote', 3, 1, null),
      vote('precommit', 3, 2, null),
    ];
    const run = () => {
      const c = core();
      const out: CoreEffect<Msg>[] = [];
      for (const i of inputs) out.push(...c.step(i));
      return JSON.stringify(out);
    };
    expect(run()).toBe(run());
  });

  it('drops messages too far ahead, ignores inputs before the first height, refuses to go back', () => {
    const c = core();
    expect(c.step(vote('prevote', 0, 0, 'A'))).toEqual([]);
    expect(c.state()).toBeUndefined();
    expect(() => c.proposer(0)).toThrow(RangeError);
    c.step({ kind: 'start-height', height: 5, validatorSet: set });
    const far = ROUND_LOOKAHEAD_MAX + 1;
    c.step(vote('prevote', far, 0, null, 5));
    expect(c.step(vote('prevote', far, 1, null, 5))).toEqual([]);
    expect(c.state()?.round).toBe(0);
    expect(() => c.step({ kind: 'start-height', height: 5, validatorSet: set })).toThrow(RangeError);
    expect(() => c.step({ kind: 'start-height', height: 6, validatorSet: set, round: -1 })).toThrow(
      RangeError,
    );
  });

  it('one validator voting in every round of the look-ahead window holds its quota, not the window; round skips still work', () => {
    const c = core();
    c.step({ kind: 'start-height', height: 1, validatorSet: set });
    const quota = DEFAULT_FUTURE_ROUND_QUOTA.messages;
    for (let r = 1; r <= ROUND_LOOKAHEAD_MAX; r++) {
      const input = vote('precommit', r, 0, null);
      expect(c.admitsVote(input as Extract<CoreInput<Msg>, { kind: 'vote' }>)).toBe(r <= quota);
      c.step(input);
    }
    expect(c.held()).toEqual({ rounds: quota, votes: quota, futureMessages: quota });
    expect(c.state()?.round).toBe(0);
    // Far-round proposals of validator 0 (the proposer of rounds 4, 8, …) are over its quota too.
    expect(c.admitsProposal(1, 8, 0)).toBe(false);
    // f+1 in a round the flooder holds (3), then in one it does not (700): both skips happen.
    c.step(vote('prevote', 3, 1, null));
    expect(c.state()?.round).toBe(3);
    c.step(vote('prevote', 700, 1, null));
    // roundAt: the current height's round without building the state; undefined for any other height
    expect(c.roundAt(1)).toBe(3);
    expect(c.state()?.round).toBe(3);
    expect(c.roundAt(2)).toBeUndefined();
    c.step(vote('precommit', 700, 2, null));
    expect(c.state()?.round).toBe(700);
    // Its messages are all below the node's round now: the quota is free again.
    expect(c.held().futureMessages).toBe(0);
    expect(c.admitsVote({ type: 'precommit', height: 1, round: 701, validator: 0, valueId: null })).toBe(
      true,
    );
  });

  it('ignores malformed proposals (polRound not below round) and values for another round', () => {
    const c = core(0);
    expect(c.step({ kind: 'start-height', height: 1, validatorSet: set })).toEqual([
      { kind: 'schedule-timeout', step: 'propose', height: 1, round: 0, durationMs: 3000 },
      { kind: 'request-value', height: 1, round: 0 },
    ]);
    expect(c.step({ kind: 'value', height: 1, round: 1, valueId: 'X' })).toEqual([]);
    const d = core();
    d.step({ kind: 'start-height', height: 1, validatorSet: set });
    expect(
      d.step({
        kind: 'proposal',
        height: 1,
        round: 0,
        polRound: 0,
        valueId: 'A',
        proposer: 0,
        signed: { tag: 'p' },
        valid: true,
      }),
    ).toEqual([]);
  });

  it('the proposer schedules the propose timeout too; if its value never arrives it prevotes nil (L57)', () => {
    const c = core(0);
    expect(c.step({ kind: 'start-height', height: 1, validatorSet: set })).toEqual([
      { kind: 'schedule-timeout', step: 'propose', height: 1, round: 0, durationMs: 3000 },
      { kind: 'request-value', height: 1, round: 0 },
    ]);
    // buildBlock failed (or the signer refused our proposal): nothing arrives, the timer fires.
    expect(c.step({ kind: 'timeout', step: 'propose', height: 1, round: 0 })).toEqual([
      { kind: 'broadcast-vote', type: 'prevote', height: 1, round: 0, valueId: null },
    ]);
    expect(c.state()).toMatchObject({ round: 0, step: 'prevote' });
    // A value that arrives after the timeout is not proposed any more.
    expect(c.step({ kind: 'value', height: 1, round: 0, valueId: 'A' })).toEqual([]);
    // Starting at a later round it proposes (round 4: proposer 0 again), the timer is scheduled too.
    const d = core(0);
    expect(d.step({ kind: 'start-height', height: 1, validatorSet: set, round: 4 })[0]).toEqual({
      kind: 'schedule-timeout',
      step: 'propose',
      height: 1,
      round: 4,
      durationMs: 4000,
    });
  });

  it('reports the paper lines it runs', () => {
    const lines: number[] = [];
    const c = core(3, (l) => lines.push(l));
    c.step({ kind: 'start-height', height: 1, validatorSet: set });
    expect(lines).toEqual([11, 12, 13, 21, 14, 20]);
    lines.length = 0;
    c.step({ kind: 'timeout', step: 'propose', height: 1, round: 0 });
    expect(lines).toEqual([57, 58, 59, 60]);
  });
});
