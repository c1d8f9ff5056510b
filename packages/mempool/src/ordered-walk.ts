import { IndexedHeap } from './indexed-heap.js';
import type { PoolEntry, SenderQueue } from './pool-entry.js';

/**
 * A read-only walk over the pool in order, without touching the pool: best
 * first over queue heads (reaping, listing) or worst first over queue tails
 * (planning evictions). A small auxiliary heap holds the frontier: popping a
 * queue that came from the main heap exposes its two heap children, and
 * `follow` exposes the next entry of the same queue (the next nonce when
 * walking best first, the previous one when walking worst first). Cost is
 * O(k log k) for k steps, independent of the pool size.
 */
export interface WalkStep {
  readonly entry: PoolEntry;
  readonly queue: SenderQueue;
  /** Index of `entry` in `queue.txs`. */
  readonly index: number;
  /** Position of `queue` in the main heap, or −1 for a followed entry. */
  readonly heapPos: number;
}

export class OrderedWalk {
  readonly #heap: IndexedHeap<SenderQueue>;
  readonly #direction: 'best-first' | 'worst-first';
  readonly #frontier: IndexedHeap<WalkStep>;

  constructor(
    heap: IndexedHeap<SenderQueue>,
    direction: 'best-first' | 'worst-first',
    before: (a: PoolEntry, b: PoolEntry) => boolean,
  ) {
    this.#heap = heap;
    this.#direction = direction;
    this.#frontier = new IndexedHeap<WalkStep>((a, b) => before(a.entry, b.entry));
    this.#exposeHeapNode(0);
  }

  /** The next entry in order, or undefined when the walk is exhausted. */
  next(): WalkStep | undefined {
    const step = this.#frontier.pop();
    if (step === undefined) return undefined;
    if (step.heapPos >= 0) {
      this.#exposeHeapNode(2 * step.heapPos + 1);
      this.#exposeHeapNode(2 * step.heapPos + 2);
    }
    return step;
  }

  /** Makes the entry that comes after `step` in its queue (in walk order) a candidate. */
  follow(step: WalkStep): void {
    const index = this.#direction === 'best-first' ? step.index + 1 : step.index - 1;
    const entry = step.queue.txs[index];
    if (entry === undefined) return;
    this.#frontier.push({ entry, queue: step.queue, index, heapPos: -1 });
  }

  #exposeHeapNode(pos: number): void {
    const queue = this.#heap.at(pos);
    if (queue === undefined) return;
    const index = this.#direction === 'best-first' ? 0 : queue.txs.length - 1;
    const entry = queue.txs[index];
    if (entry === undefined) return;
    this.#frontier.push({ entry, queue, index, heapPos: pos });
  }
}
