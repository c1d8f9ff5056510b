import { TopicValidatorResult } from '@libp2p/gossipsub';
import { noopLogger, noopMetrics } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { createP2pMetrics } from '../../src/p2p-metrics.js';
import { PeerReputation, type PenaltyReason } from '../../src/peers/reputation.js';
import {
  GossipValidationAdapter,
  isProvablyInvalid,
  outcomeOfError,
  toTopicValidatorResult,
} from '../../src/validation/adapter.js';
import { GossipValidationError, ignore, reject } from '../../src/validation/gossip-error.js';
import { RecordingMetrics } from '../fixtures.js';

function setup() {
  const reports: [string, string, TopicValidatorResult][] = [];
  const penalties: [string, PenaltyReason][] = [];
  const metrics = new RecordingMetrics();
  const adapter = new GossipValidationAdapter({
    report: (id, peer, r) => reports.push([id, peer, r]),
    penalise: (peer, reason) => penalties.push([peer, reason]),
    metrics: createP2pMetrics(metrics),
    logger: noopLogger,
  });
  return { adapter, reports, penalties, metrics };
}

describe('the validation adapter', () => {
  it('maps actions to gossipsub verdicts', () => {
    expect(toTopicValidatorResult('ACCEPT')).toBe(TopicValidatorResult.Accept);
    expect(toTopicValidatorResult('IGNORE')).toBe(TopicValidatorResult.Ignore);
    expect(toTopicValidatorResult('REJECT')).toBe(TopicValidatorResult.Reject);
  });

  it('ACCEPT: forwards, no penalty', () => {
    const s = setup();
    expect(s.adapter.settle('votes', 'm1', 'p1', { action: 'ACCEPT' })).toBe(TopicValidatorResult.Accept);
    expect(s.reports).toEqual([['m1', 'p1', TopicValidatorResult.Accept]]);
    expect(s.penalties).toEqual([]);
    expect(s.metrics.total('synod_p2p_gossip_messages_total', { action: 'accept', topic: 'votes' })).toBe(1);
  });

  it('REJECT: drops and penalises the sending peer', () => {
    const s = setup();
    const outcome = outcomeOfError(new GossipValidationError('vote', 'REJECT', 'DECODE_FAILED', 'bad'));
    expect(s.adapter.settle('votes', 'm2', 'p2', outcome)).toBe(TopicValidatorResult.Reject);
    expect(s.penalties).toEqual([['p2', 'gossip-reject']]);
    expect(
      s.metrics.total('synod_p2p_gossip_messages_total', { action: 'reject', reason: 'DECODE_FAILED' }),
    ).toBe(1);
  });

  it('REJECT for an invalid signature, on every topic: the penalty that bans at once', () => {
    const s = setup();
    const kinds = [
      ['votes', 'vote'],
      ['proposals', 'proposal'],
      ['evidence', 'evidence'],
      ['txs', 'tx'],
    ] as const;
    for (const [topic, kind] of kinds) {
      const outcome = outcomeOfError(
        new GossipValidationError(kind, 'REJECT', 'INVALID_SIGNATURE', 'forged'),
      );
      expect(s.adapter.settle(topic, `m-${topic}`, 'p2', outcome)).toBe(TopicValidatorResult.Reject);
    }
    expect(s.penalties).toEqual(kinds.map(() => ['p2', 'invalid-signature']));
    const clock = { now: () => 1_000, setTimer: () => () => {} };
    const reputation = new PeerReputation(clock);
    expect(reputation.penalise('p2', 'invalid-signature').banned).toBe(true);
  });

  it('IGNORE: drops without blame', () => {
    const s = setup();
    const outcome = outcomeOfError(new GossipValidationError('vote', 'IGNORE', 'HEIGHT_TOO_FAR', 'later'));
    expect(s.adapter.settle('votes', 'm3', 'p3', outcome)).toBe(TopicValidatorResult.Ignore);
    expect(s.penalties).toEqual([]);
  });

  it('an unexpected error is our bug: IGNORE with reason INTERNAL, never a penalty', () => {
    const s = setup();
    const outcome = outcomeOfError(new TypeError('boom'));
    expect(outcome).toEqual({ action: 'IGNORE', reason: 'INTERNAL', message: 'boom' });
    s.adapter.settle('txs', 'm4', 'p4', outcome);
    expect(s.penalties).toEqual([]);
    expect(outcomeOfError('weird').action).toBe('IGNORE');
    expect(createP2pMetrics(noopMetrics).peers).toBeDefined();
  });

  it('copies of a REJECTed message are violations, unless the reject came from the application precheck', () => {
    const rejected = (reason: 'DECODE_FAILED' | 'INVALID_SIGNATURE' | 'TX_REJECTED') =>
      outcomeOfError(new GossipValidationError('tx', 'REJECT', reason, 'no'));
    expect(isProvablyInvalid(rejected('DECODE_FAILED'))).toBe(true);
    expect(isProvablyInvalid(rejected('INVALID_SIGNATURE'))).toBe(true);
    // a mempool's verdict depends on its state: an honest peer may have accepted it
    expect(isProvablyInvalid(rejected('TX_REJECTED'))).toBe(false);
    expect(isProvablyInvalid({ action: 'IGNORE', reason: 'HEIGHT_TOO_FAR', message: '' })).toBe(false);
    expect(isProvablyInvalid({ action: 'ACCEPT' })).toBe(false);
  });

  it('a verdict carries no stack trace (a flood must not buy one per message), and the stack limit is restored', () => {
    const limit = Error.stackTraceLimit;
    const thrown = (f: () => never): unknown => {
      try {
        f();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const err of [
      thrown(() => ignore('vote', 'ROUND_TOO_FAR', 'round 999 beyond the look-ahead')),
      thrown(() => reject('vote', 'INVALID_SIGNATURE', 'bad signature', new Error('cause'))),
    ]) {
      expect(err).toBeInstanceOf(GossipValidationError);
      const e = err as GossipValidationError;
      expect(e.stack?.split('\n')).toEqual([`GossipValidationError: ${e.message}`]);
    }
    expect(outcomeOfError(thrown(() => ignore('vote', 'ROUND_TOO_FAR', 'far')))).toEqual({
      action: 'IGNORE',
      reason: 'ROUND_TOO_FAR',
      message: 'far',
    });
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
