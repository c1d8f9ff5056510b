/**
 * The key-value interface every Synod store is built on. Keys and values are
 * bytes; keys sort bytewise (unsigned, lexicographic, shorter first on a tie).
 * Implementations: LevelDB on disk (`openLevelKvStore`), memory-level
 * (`createMemoryKvStore`) and a prefixed view over either (`prefixedKvStore`).
 * All pass one compliance suite (test/kv-compliance.ts).
 */

/** A key range with optional bounds, direction and limit (LevelDB iterator semantics). */
export interface KvRange {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Iterate from the highest key down. @default false */
  readonly reverse?: boolean;
  /** At most this many entries; negative or undefined means no limit. */
  readonly limit?: number;
}

/** A range without direction or limit, for size estimates and compaction. */
export interface KvSpan {
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
}

export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export type KvBatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export interface KvWriteOptions {
  /**
   * Flush the write to stable storage (fsync) before resolving. Without it a
   * write survives a process crash but may be lost on power loss.
   * @default false
   */
  readonly sync?: boolean;
}

export interface KvStore {
  /** Human-readable kind, e.g. `level`, `memory`, `prefixed(level)`. */
  readonly kind: string;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  has(key: Uint8Array): Promise<boolean>;
  put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void>;
  del(key: Uint8Array, options?: KvWriteOptions): Promise<void>;
  /** Applies every operation or none (atomic), in order (a later op on the same key wins). */
  batch(ops: readonly KvBatchOp[], options?: KvWriteOptions): Promise<void>;
  /**
   * Entries in key order over a consistent snapshot taken when iteration
   * starts. Breaking out of a `for await` loop releases the iterator.
   */
  iterate(range?: KvRange): AsyncIterableIterator<KvEntry>;
  /** `iterate` collected into an array. */
  entries(range?: KvRange): Promise<KvEntry[]>;
  /** Approximate bytes used by the keys in `span` (on disk for LevelDB, key + value bytes in memory). */
  approximateSize(span?: KvSpan): Promise<number>;
  /** Compacts the keys in `span` so deleted data releases its space (no-op in memory). */
  compact(span?: KvSpan): Promise<void>;
  /** Closes the store; every later call rejects with `STORAGE_CLOSED`. Idempotent. */
  close(): Promise<void>;
}
