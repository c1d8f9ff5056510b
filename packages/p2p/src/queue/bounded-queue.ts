/**
 * What a full queue does with a new item:
 * - 'drop-oldest': the new item goes in, the oldest one is dropped (fresh
 *   consensus messages and transactions matter more than stale ones);
 * - 'drop-newest': the new item is dropped.
 */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

/** A FIFO with a hard bound and a drop policy. O(1) push and shift (ring buffer). */
export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(
    readonly maxLength: number,
    readonly policy: DropPolicy,
  ) {
    if (!Number.isInteger(maxLength) || maxLength < 1)
      throw new RangeError('BoundedQueue: maxLength must be a positive integer');
    this.items = new Array<T | undefined>(maxLength);
  }

  get length(): number {
    return this.size;
  }

  /** Adds `item`; returns the item dropped to make room (or `item` itself under 'drop-newest'), if any. */
  push(item: T): T | undefined {
    if (this.size < this.maxLength) {
      this.items[(this.head + this.size) % this.maxLength] = item;
      this.size++;
      return undefined;
    }
    if (this.policy === 'drop-newest') return item;
    const dropped = this.items[this.head];
    this.items[this.head] = item;
    this.head = (this.head + 1) % this.maxLength;
    return dropped;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.maxLength;
    this.size--;
    return item;
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }
}
