/**
 * A timeout signal that is disarmed when the operation it guards ends.
 * `AbortSignal.timeout()` fires even after its operation has finished, into
 * whatever abort listeners are still attached (libp2p attaches some to the
 * signals it is given); every signal this package hands to libp2p comes from
 * here and is cleared once the operation settles.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Disarms the timer; the signal then never aborts. */
  clear(): void;
}

export function deadline(ms: number, what = 'operation'): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`${what} timed out after ${ms} ms`, 'TimeoutError')),
    ms,
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** Runs `fn` with a deadline's signal and always disarms it afterwards. */
export async function withDeadline<T>(
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const d = deadline(ms, what);
  try {
    return await fn(d.signal);
  } finally {
    d.clear();
  }
}
