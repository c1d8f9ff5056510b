import type { IndexedHeap } from './indexed-heap.js';
import type { PoolEntry, SenderQueue } from './pool-entry.js';

/**
 * A read-only walk over the pool in order, without touching the pool: best
 * first over queue heads (reaping, listing) or worst first over queue tails
 * (planning evictions). A small frontier heap holds the candidates: popping a
 * queue that came from the main heap exposes its two heap children, and
 * `follow` exposes the next entry of the same queue (the next nonce when
 * walking best first, the previous one when walking worst first). Cost is
 * O(k log k) for k steps, independent of the pool size.
 *
 * The frontier is three parallel arrays (entry, index in its queue, main-heap
 * position or −1) rather than an array of objects: reaping a block walks tens
 * of thousands of steps, and this keeps it allocation-free.
 */
export class OrderedWalk {
  readonly #heap: IndexedHeap<SenderQueue>;
  readonly #bestFirst: boolean;
  readonly #before: (a: PoolEntry, b: PoolEntry) => boolean;
  readonly #entries: PoolEntry[] = [];
  readonly #indexes: number[] = [];
  readonly #heapPos: number[] = [];
  /** The step `next` returned last. */
  #entry: PoolEntry | undefined;
  #index = -1;

  constructor(
    heap: IndexedHeap<SenderQueue>,
    direction: 'best-first' | 'worst-first',
    before: (a: PoolEntry, b: PoolEntry) => boolean,
  ) {
    this.#heap = heap;
    this.#bestFirst = direction === 'best-first';
    this.#before = before;
    this.#exposeHeapNode(0);
  }

  /** The next entry in order, or undefined when the walk is exhausted. */
  next(): PoolEntry | undefined {
    const entries = this.#entries;
    const top = entries[0];
    if (top === undefined) {
      this.#entry = undefined;
      return undefined;
    }
    const index = this.#indexes[0] as number;
    const pos = this.#heapPos[0] as number;
    const lastEntry = entries.pop() as PoolEntry;
    const lastIndex = this.#indexes.pop() as number;
    const lastPos = this.#heapPos.pop() as number;
    if (entries.length > 0) this.#siftDown(lastEntry, lastIndex, lastPos);
    if (pos >= 0) {
      this.#exposeHeapNode(2 * pos + 1);
      this.#exposeHeapNode(2 * pos + 2);
    }
    this.#entry = top;
    this.#index = index;
    return top;
  }

  /** The entry after the last one `next` returned, in walk order within its queue (without taking it). */
  peekFollower(): PoolEntry | undefined {
    const e = this.#entry;
    if (e === undefined) return undefined;
    return e.queue.txs[this.#bestFirst ? this.#index + 1 : this.#index - 1];
  }

  /** Makes the follower of the last entry `next` returned a candidate. */
  follow(): void {
    const e = this.#entry;
    if (e === undefined) return;
    const index = this.#bestFirst ? this.#index + 1 : this.#index - 1;
    const entry = e.queue.txs[index];
    if (entry !== undefined) this.#push(entry, index, -1);
  }

  #exposeHeapNode(pos: number): void {
    const queue = this.#heap.at(pos);
    if (queue === undefined) return;
    const index = this.#bestFirst ? 0 : queue.txs.length - 1;
    const entry = queue.txs[index];
    if (entry !== undefined) this.#push(entry, index, pos);
  }

  #push(entry: PoolEntry, index: number, pos: number): void {
    const entries = this.#entries;
    const indexes = this.#indexes;
    const heapPos = this.#heapPos;
    let i = entries.length;
    entries.push(entry);
    indexes.push(index);
    heapPos.push(pos);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = entries[parent] as PoolEntry;
      if (!this.#before(entry, p)) break;
      entries[i] = p;
      indexes[i] = indexes[parent] as number;
      heapPos[i] = heapPos[parent] as number;
      i = parent;
    }
    entries[i] = entry;
    indexes[i] = index;
    heapPos[i] = pos;
  }

  /** Places (entry, index, pos) at the root and sifts it down. */
  #siftDown(entry: PoolEntry, index: number, pos: number): void {
    const entries = this.#entries;
    const indexes = this.#indexes;
    const heapPos = this.#heapPos;
    const n = entries.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.#before(entries[right] as PoolEntry, entries[left] as PoolEntry)) child = right;
      const c = entries[child] as PoolEntry;
      if (!this.#before(c, entry)) break;
      entries[i] = c;
      indexes[i] = indexes[child] as number;
      heapPos[i] = heapPos[child] as number;
      i = child;
    }
    entries[i] = entry;
    indexes[i] = index;
    heapPos[i] = pos;
  }
}
