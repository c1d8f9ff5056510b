/**
 * The pool's internal records. Each pending tx is a `PoolEntry` in exactly one
 * `SenderQueue` (its sender's pending txs sorted by nonce; a tx without a
 * sender or nonce gets a queue of its own). Two heaps index the queues: by
 * their head (for reaping, best first) and by their tail (for eviction, worst
 * first).
 */

export interface PoolEntry {
  readonly tx: Uint8Array;
  /** Lowercase hex of txHash(tx): the key of the hash map and the seen-cache. */
  readonly key: string;
  /** undefined for a tx that checkTx gave no sender/nonce (ordered on its own). */
  readonly nonce: number | undefined;
  /** From checkTx; higher is better. */
  readonly priority: bigint;
  readonly gasWanted: number;
  /** Arrival sequence number: the deterministic tie-break (earlier first). */
  readonly seq: number;
  /** The pool's height when the tx was accepted (for expiry by blocks). */
  readonly height: number;
  /** Clock time when accepted, or 0 without a clock (for expiry by time). */
  readonly timeMs: number;
  /**
   * Effective priority: min(priority, effective priority of the previous
   * pending nonce of the same sender). A tx cannot be included before its
   * predecessors, so it is never worth more than them. Non-increasing along a
   * queue; equal to `priority` at the head.
   */
  effective: bigint;
  /**
   * Number(effective), compared first: the conversion is monotone, so unequal
   * numbers decide; only equal ones (a tie, or bigints beyond 2^53 that round
   * alike) fall back to the bigint. Comparing doubles is several times cheaper.
   */
  effectiveNum: number;
  queue: SenderQueue;
}

export interface SenderQueue {
  /** Hex sender address, or `#` + the tx key for a tx without sender/nonce. */
  readonly key: string;
  readonly sender: Uint8Array | undefined;
  /** Pending txs in ascending nonce order (never empty while the queue is in the pool). */
  readonly txs: PoolEntry[];
  /** Position in the head heap (−1 when absent). */
  headPos: number;
  /** Position in the tail heap (−1 when absent). */
  tailPos: number;
}

/** Best first: higher effective priority, then earlier arrival. */
export function isBetter(a: PoolEntry, b: PoolEntry): boolean {
  if (a.effectiveNum !== b.effectiveNum) return a.effectiveNum > b.effectiveNum;
  if (a.effective !== b.effective) return a.effective > b.effective;
  return a.seq < b.seq;
}

/** Worst first: lower effective priority, then later arrival. */
export function isWorse(a: PoolEntry, b: PoolEntry): boolean {
  if (a.effectiveNum !== b.effectiveNum) return a.effectiveNum < b.effectiveNum;
  if (a.effective !== b.effective) return a.effective < b.effective;
  return a.seq > b.seq;
}

export function headOf(q: SenderQueue): PoolEntry {
  return q.txs[0] as PoolEntry;
}

export function tailOf(q: SenderQueue): PoolEntry {
  return q.txs[q.txs.length - 1] as PoolEntry;
}

/** Index of the first entry whose nonce is ≥ `nonce` (txs.length when none). */
export function lowerBound(txs: readonly PoolEntry[], nonce: number): number {
  let lo = 0;
  let hi = txs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (((txs[mid] as PoolEntry).nonce ?? 0) < nonce) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of `entry` in its queue, or −1. */
export function indexInQueue(entry: PoolEntry): number {
  const txs = entry.queue.txs;
  if (entry.nonce === undefined) return txs[0] === entry ? 0 : -1;
  const i = lowerBound(txs, entry.nonce);
  return txs[i] === entry ? i : -1;
}

/** Recomputes effective priorities from index `from` on (stops once nothing changes). */
export function refreshEffective(txs: readonly PoolEntry[], from: number): void {
  for (let j = Math.max(0, from); j < txs.length; j++) {
    const e = txs[j] as PoolEntry;
    let eff = e.priority;
    if (j > 0 && (txs[j - 1] as PoolEntry).effective < eff) eff = (txs[j - 1] as PoolEntry).effective;
    if (j > from && eff === e.effective) return;
    e.effective = eff;
    e.effectiveNum = Number(eff);
  }
}
