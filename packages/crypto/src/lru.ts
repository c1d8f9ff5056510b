/**
 * A bounded least-recently-used map on top of `Map`'s insertion order: a hit
 * moves the entry to the end, an insert past capacity evicts the first entry.
 */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`LruCache: capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value for `key` (marking it most recently used), or undefined. */
  get(key: K): V | undefined {
    const map = this.#map;
    if (!map.has(key)) return undefined;
    const value = map.get(key) as V;
    map.delete(key);
    map.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    const map = this.#map;
    if (map.has(key)) {
      map.delete(key);
    } else if (map.size >= this.capacity) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
    map.set(key, value);
  }

  clear(): void {
    this.#map.clear();
  }

  /** Keys from least to most recently used. */
  keys(): K[] {
    return [...this.#map.keys()];
  }
}
