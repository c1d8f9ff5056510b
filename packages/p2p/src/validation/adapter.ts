import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { Logger } from '@synod/types';
import type { P2pMetrics } from '../p2p-metrics.js';
import type { PenaltyReason } from '../peers/reputation.js';
import type { GossipTopic } from '../topics.js';
import { type GossipAction, type GossipErrorCode, GossipValidationError } from './gossip-error.js';

/** The result of validating one gossip message. */
export type ValidationOutcome =
  | { readonly action: 'ACCEPT' }
  | { readonly action: 'IGNORE' | 'REJECT'; readonly reason: GossipErrorCode; readonly message: string };

/** The outcome of a thrown error: a GossipValidationError keeps its action; anything else is our bug → IGNORE. */
export function outcomeOfError(err: unknown): ValidationOutcome {
  if (err instanceof GossipValidationError)
    return { action: err.action, reason: err.reason, message: err.message };
  return { action: 'IGNORE', reason: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * What a REJECT costs the sender. An invalid signature bans at once: a correct
 * peer validates before it forwards, so only a faulty or hostile one sends it.
 */
export function penaltyOfReject(reason: GossipErrorCode): PenaltyReason {
  return reason === 'INVALID_SIGNATURE' ? 'invalid-signature' : 'gossip-reject';
}

/**
 * Whether every correct node rejects this message too (its encoding, size,
 * signatures, or rules over the chain's committed data), so a copy of it is
 * itself a violation. An application precheck's REJECT (`TX_REJECTED`) may
 * depend on local state (a mempool), so it is not.
 */
export function isProvablyInvalid(outcome: ValidationOutcome): boolean {
  return outcome.action === 'REJECT' && outcome.reason !== 'TX_REJECTED';
}

/** ACCEPT / IGNORE / REJECT → gossipsub's verdict. */
export function toTopicValidatorResult(action: GossipAction): TopicValidatorResult {
  switch (action) {
    case 'ACCEPT':
      return TopicValidatorResult.Accept;
    case 'IGNORE':
      return TopicValidatorResult.Ignore;
    case 'REJECT':
      return TopicValidatorResult.Reject;
  }
}

export interface ValidationAdapterDeps {
  /** Tells gossipsub the verdict (forward on Accept; P4 penalty on Reject), with the outcome behind it. */
  report(
    msgId: string,
    propagationSource: string,
    result: TopicValidatorResult,
    outcome: ValidationOutcome,
  ): void;
  /** Records a penalty against a peer (may ban it). */
  penalise(peer: string, reason: PenaltyReason): void;
  readonly metrics: P2pMetrics;
  readonly logger: Logger;
}

/**
 * THE adapter from validation outcomes to their consequences, used for every
 * gossip message:
 * - the gossipsub verdict (Accept → forward; Ignore → drop; Reject → drop and
 *   gossipsub's P4 invalid-message penalty on the topic score);
 * - a REJECT also costs the sending peer reputation points (a ban past the
 *   threshold; an invalid signature bans at once, `penaltyOfReject`);
 * - one metric with bounded labels (topic, action, reason);
 * - a log line (security events, i.e. rejects, at warn).
 */
export class GossipValidationAdapter {
  constructor(private readonly deps: ValidationAdapterDeps) {}

  settle(topic: GossipTopic, msgId: string, from: string, outcome: ValidationOutcome): TopicValidatorResult {
    const result = toTopicValidatorResult(outcome.action);
    this.deps.report(msgId, from, result, outcome);
    if (outcome.action === 'ACCEPT') {
      this.deps.metrics.gossipMessages.inc({ topic, action: 'accept', reason: 'OK' });
      return result;
    }
    this.deps.metrics.gossipMessages.inc({
      topic,
      action: outcome.action.toLowerCase(),
      reason: outcome.reason,
    });
    if (outcome.action === 'REJECT') {
      this.deps.logger.warn('invalid gossip message rejected', {
        topic,
        peer: from,
        reason: outcome.reason,
        detail: outcome.message,
      });
      this.deps.penalise(from, penaltyOfReject(outcome.reason));
    } else if (outcome.reason === 'INTERNAL') {
      this.deps.logger.error('gossip validation failed unexpectedly', {
        topic,
        peer: from,
        detail: outcome.message,
      });
    } else {
      this.deps.logger.debug('gossip message ignored', { topic, peer: from, reason: outcome.reason });
    }
    return result;
  }
}
