import type { KvBatchOp, KvEntry, KvRange, KvSpan, KvStore, KvWriteOptions } from '../src/index.js';
import { createMemoryKvStore, openLevelKvStore } from '../src/index.js';
import { tempDir } from './temp-dir.js';

export interface OpenKv {
  readonly kv: KvStore;
  /** Closes the store and opens it again on the same data (level) or returns the same store (memory). */
  reopen(): Promise<KvStore>;
  cleanup(): Promise<void>;
}

/** Both real implementations, for store tests that must pass on each. */
export const KV_KINDS: ReadonlyArray<readonly [string, () => Promise<OpenKv>]> = [
  [
    'level',
    async () => {
      const dir = await tempDir('store');
      let kv = await openLevelKvStore(dir.path);
      return {
        get kv() {
          return kv;
        },
        async reopen() {
          await kv.close();
          kv = await openLevelKvStore(dir.path);
          return kv;
        },
        async cleanup() {
          await kv.close();
          await dir.remove();
        },
      };
    },
  ],
  [
    'memory',
    async () => {
      const kv = await createMemoryKvStore();
      return { kv, reopen: async () => kv, cleanup: () => kv.close() };
    },
  ],
];

/** Delegates to `inner`, counting writes; `failWrites` makes every write reject before touching `inner`. */
export class RecordingKv implements KvStore {
  readonly kind = 'recording';
  batches = 0;
  singleWrites = 0;
  /** Iterations started (`iterate` and `entries`). */
  iterations = 0;
  failWrites = false;
  private readonly inner: KvStore;

  constructor(inner: KvStore) {
    this.inner = inner;
  }

  private write(): void {
    if (this.failWrites) throw new Error('injected write failure');
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  has(key: Uint8Array): Promise<boolean> {
    return this.inner.has(key);
  }
  async put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void> {
    this.write();
    this.singleWrites++;
    return this.inner.put(key, value, options);
  }
  async del(key: Uint8Array, options?: KvWriteOptions): Promise<void> {
    this.write();
    this.singleWrites++;
    return this.inner.del(key, options);
  }
  async batch(ops: readonly KvBatchOp[], options?: KvWriteOptions): Promise<void> {
    this.write();
    this.batches++;
    return this.inner.batch(ops, options);
  }
  iterate(range?: KvRange): AsyncIterableIterator<KvEntry> {
    this.iterations++;
    return this.inner.iterate(range);
  }
  entries(range?: KvRange): Promise<KvEntry[]> {
    this.iterations++;
    return this.inner.entries(range);
  }
  approximateSize(span?: KvSpan): Promise<number> {
    return this.inner.approximateSize(span);
  }
  compact(span?: KvSpan): Promise<void> {
    return this.inner.compact(span);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
