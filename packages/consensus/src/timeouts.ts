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

/** The range of a node-local timeout scale (`scaleTimeouts`). */
export const TIMEOUT_SCALE_MIN = 0.1;
export const TIMEOUT_SCALE_MAX = 10;

/**
 * The chain's timeouts multiplied by a node-local `scale` (a speed modifier
 * for slow or fast links), each rounded to a whole millisecond and at least
 * 1 ms; scale 1 returns `params` itself. Smaller: a silent proposer is
 * skipped sooner, but on slow links more rounds end before the votes arrive;
 * larger: fewer wasted rounds on slow links, slower recovery from a silent
 * proposer.
 */
export function scaleTimeouts(params: TimeoutParams, scale: number): TimeoutParams {
  if (scale === 1) return params;
  const s = (ms: number): number => Math.max(1, Math.round(ms * scale));
  return {
    proposeMs: s(params.proposeMs),
    proposeDeltaMs: s(params.proposeDeltaMs),
    prevoteMs: s(params.prevoteMs),
    prevoteDeltaMs: s(params.prevoteDeltaMs),
    precommitMs: s(params.precommitMs),
    precommitDeltaMs: s(params.precommitDeltaMs),
    capMs: s(params.capMs),
    commitMs: s(params.commitMs),
  };
}
