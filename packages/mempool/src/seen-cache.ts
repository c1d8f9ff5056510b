/**
 * The seen-cache: a bounded LRU set of transaction hashes (hex) that drops
 * duplicates before any hashing work beyond the one SHA-256, or any checkTx.
 * Built on `Set` insertion order; unlike @synod/crypto's LruCache it supports
 * `delete`, which the mempool needs to forget txs that were rejected (so they
 * can be submitted again once they become valid).
 */
export class SeenCache {
  readonly #set = new Set<string>();
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#set.size;
  }

  has(key: string): boolean {
    return this.#set.has(key);
  }

  /** Records `key` as most recently seen, evicting the least recently seen past capacity. */
  add(key: string): void {
    const set = this.#set;
    if (set.has(key)) {
      set.delete(key);
    } else if (set.size >= this.capacity) {
      const oldest = set.values().next();
      if (oldest.done !== true) set.delete(oldest.value);
    }
    set.add(key);
  }

  /** Marks `key` as most recently seen if present (a cache hit). */
  touch(key: string): void {
    if (this.#set.delete(key)) this.#set.add(key);
  }

  delete(key: string): void {
    this.#set.delete(key);
  }

  clear(): void {
    this.#set.clear();
  }
}
