/** Exponential backoff with a cap and symmetric jitter, for reconnects and redials. */
export interface BackoffOptions {
  /** Delay before the first retry. @default 1000 */
  readonly initialMs: number;
  /** Largest delay, jitter included. @default 60000 */
  readonly maxMs: number;
  /** Growth per attempt. @default 2 */
  readonly factor: number;
  /** Relative jitter in [0, 1): the delay is spread uniformly over ±jitter around the base. @default 0.2 */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialMs: 1_000,
  maxMs: 60_000,
  factor: 2,
  jitter: 0.2,
});

/**
 * The delay before retry number `attempt` (0-based):
 *
 *     base  = min(maxMs, initialMs × factor^attempt)
 *     delay = min(maxMs, base × (1 + jitter × (2r − 1)))      r = random() ∈ [0, 1)
 *
 * `random` is injected so tests (and the simulator) are deterministic.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const n = Math.max(0, Math.floor(attempt));
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** n);
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = base * (1 + options.jitter * (2 * r - 1));
  return Math.max(0, Math.round(Math.min(options.maxMs, jittered)));
}
