import type { RoundStep, TimeoutParams } from './types.js';

/**
 * The paper's timeoutPropose(r), timeoutPrevote(r), timeoutPrecommit(r):
 * base + round × delta, capped at `capMs`. With @synod/types this equals
 * `roundTimeoutMs(params, step, round)`.
 */
export function timeoutMs(params: TimeoutParams, step: RoundStep, round: number): number {
  const [base, delta] =
    step === 'propose'
      ? [params.proposeMs, params.proposeDeltaMs]
      : step === 'prevote'
        ? [params.prevoteMs, params.prevoteDeltaMs]
        : [params.precommitMs, params.precommitDeltaMs];
  return Math.min(base + round * delta, params.capMs);
}

/** The wait after a decision before the next height starts. */
export function commitTimeoutMs(params: TimeoutParams): number {
  return params.commitMs;
}
