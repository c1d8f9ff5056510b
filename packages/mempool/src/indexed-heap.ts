/**
 * A binary heap whose items know their own position, so an item can be
 * removed or re-keyed in O(log n). `before(a, b)` is true when `a` must come
 * out first; `setPos` records an item's index (−1 once it left the heap).
 */
export class IndexedHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;
  readonly #getPos: (item: T) => number;
  readonly #setPos: (item: T, pos: number) => void;

  constructor(
    before: (a: T, b: T) => boolean,
    getPos: (item: T) => number = () => -1,
    setPos: (item: T, pos: number) => void = () => {},
  ) {
    this.#before = before;
    this.#getPos = getPos;
    this.#setPos = setPos;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The item at heap index `i` (0 is the top), for read-only walks. */
  at(i: number): T | undefined {
    return this.#items[i];
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    this.#setPos(item, items.length - 1);
    this.#up(items.length - 1);
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    this.#removeAt(0);
    return top;
  }

  /** Removes `item` (a no-op when it is not in the heap). */
  remove(item: T): void {
    const pos = this.#getPos(item);
    if (pos < 0 || this.#items[pos] !== item) return;
    this.#removeAt(pos);
  }

  /** Restores the heap order after `item`'s key changed. */
  update(item: T): void {
    const pos = this.#getPos(item);
    if (pos < 0 || this.#items[pos] !== item) return;
    if (!this.#up(pos)) this.#down(pos);
  }

  clear(): void {
    for (const item of this.#items) this.#setPos(item, -1);
    this.#items.length = 0;
  }

  #removeAt(pos: number): void {
    const items = this.#items;
    const removed = items[pos] as T;
    const last = items.pop() as T;
    this.#setPos(removed, -1);
    if (pos < items.length) {
      items[pos] = last;
      this.#setPos(last, pos);
      if (!this.#up(pos)) this.#down(pos);
    }
  }

  /** Sifts up; true when the item moved. */
  #up(pos: number): boolean {
    const items = this.#items;
    const item = items[pos] as T;
    let i = pos;
    while (i > 0) {
      const parentPos = (i - 1) >> 1;
      const parent = items[parentPos] as T;
      if (!this.#before(item, parent)) break;
      items[i] = parent;
      this.#setPos(parent, i);
      i = parentPos;
    }
    if (i !== pos) {
      items[i] = item;
      this.#setPos(item, i);
      return true;
    }
    return false;
  }

  #down(pos: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[pos] as T;
    let i = pos;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.#before(items[right] as T, items[left] as T)) child = right;
      const childItem = items[child] as T;
      if (!this.#before(childItem, item)) break;
      items[i] = childItem;
      this.#setPos(childItem, i);
      i = child;
    }
    if (i !== pos) {
      items[i] = item;
      this.#setPos(item, i);
    }
  }
}
