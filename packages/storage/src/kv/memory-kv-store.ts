import { MemoryLevel } from 'memory-level';
import { AbstractLevelKvStore, type BytesLevel } from './abstract-level-kv-store.js';
import type { KvSpan, KvStore } from './kv-store.js';

/**
 * An in-memory `KvStore` (memory-level) with the same semantics as the LevelDB
 * one, for tests and the simulator. `approximateSize` is the sum of key and
 * value bytes in the span; `compact` does nothing.
 */
export async function createMemoryKvStore(): Promise<KvStore> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const store: AbstractLevelKvStore = new AbstractLevelKvStore(
    // The `view` encodings make keys and values Uint8Array (see BytesLevel).
    db as unknown as BytesLevel,
    'memory',
    {
      approximateSize: async (span: KvSpan) => {
        let total = 0;
        for await (const { key, value } of store.iterate(span)) total += key.length + value.length;
        return total;
      },
      compact: async () => undefined,
    },
    true,
  );
  return store;
}
