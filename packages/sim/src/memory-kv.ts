/**
 * The simulated disks' key-value store: @synod/storage's `KvStore` contract
 * (bytewise key order, atomic ordered batches, LevelDB range semantics,
 * copies in and out, snapshot iteration, STORAGE_CLOSED after close) over a
 * plain sorted structure, in place of memory-level behind abstract-level.
 *
 * Why the simulator has its own: every node commits every block through
 * it (the block store's SSZ records, the chain state, the ledger's latest,
 * history and pruning keys), and abstract-level's per-operation encoding
 * and event machinery plus memory-level's persistent red-black tree (a new
 * path of nodes per write, for free snapshots) were about a fifth of the
 * simulator's CPU time. Here a key is its latin1 string (one code unit per
 * byte, so string order is bytewise order, shorter first on a tie), values
 * live in a Map, and the order is a list of sorted chunks (binary search,
 * then a splice of at most `CHUNK` keys). Snapshots are taken eagerly: an
 * iteration collects its range (up to its limit) when it starts, which is
 * what every caller of the stores does anyway (point reads, `limit: 1`
 * seeks, short ranges). test/memory-kv.test.ts checks it against
 * `createMemoryKvStore` (thousands of random batches, reads and range
 * queries, answer for answer) and the rest of the contract.
 */
import type { KvBatchOp, KvEntry, KvRange, KvSpan, KvStore, KvWriteOptions } from '@synod/storage';
import { SynodError } from '@synod/types';

/** Keys per chunk of the sorted order before it splits. */
const CHUNK = 256;

const keyOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new SynodError('ENCODE_INVALID_VALUE', `${what} must be a Uint8Array, got ${typeof value}`);
}

/** Index of the first element of sorted `a` that is ≥ `k` (or > `k` when `strict`). */
function lowerBound(a: readonly string[], k: string, strict: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = a[mid] as string;
    if (m < k || (strict && m === k)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A sorted set of strings as a list of sorted chunks (each non-empty, at most `CHUNK` long). */
class SortedKeys {
  #chunks: string[][] = [];

  /** The chunk `k` belongs in: the first whose last key is ≥ k (the last chunk when none is). */
  #chunkOf(k: string): number {
    const c = this.#chunks;
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = c[mid] as string[];
      if ((chunk[chunk.length - 1] as string) < k) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, c.length - 1);
  }

  /** Adds `k` (not present). */
  insert(k: string): void {
    if (this.#chunks.length === 0) {
      this.#chunks.push([k]);
      return;
    }
    const ci = this.#chunkOf(k);
    const chunk = this.#chunks[ci] as string[];
    chunk.splice(lowerBound(chunk, k, false), 0, k);
    if (chunk.length > CHUNK) this.#chunks.splice(ci + 1, 0, chunk.splice(chunk.length >>> 1));
  }

  /** Removes `k` (present). */
  remove(k: string): void {
    const ci = this.#chunkOf(k);
    const chunk = this.#chunks[ci] as string[];
    const i = lowerBound(chunk, k, false);
    if (chunk[i] !== k) return;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.#chunks.splice(ci, 1);
  }

  /**
   * The keys from `lower` up to `upper` (each undefined: unbounded), in order
   * or reversed, at most `limit` of them (negative: all).
   */
  range(
    lower: { readonly key: string; readonly strict: boolean } | undefined,
    upper: { readonly key: string; readonly strict: boolean } | undefined,
    reverse: boolean,
    limit: number,
  ): string[] {
    const out: string[] = [];
    const c = this.#chunks;
    if (limit === 0 || c.length === 0) return out;
    const below = (k: string): boolean =>
      upper === undefined || k < upper.key || (!upper.strict && k === upper.key);
    const above = (k: string): boolean =>
      lower === undefined || k > lower.key || (!lower.strict && k === lower.key);
    if (!reverse) {
      let ci = lower === undefined ? 0 : this.#chunkOf(lower.key);
      let i = lower === undefined ? 0 : lowerBound(c[ci] as string[], lower.key, lower.strict);
      for (; ci < c.length; ci++, i = 0) {
        const chunk = c[ci] as string[];
        for (; i < chunk.length; i++) {
          const k = chunk[i] as string;
          if (!below(k)) return out;
          out.push(k);
          if (out.length === limit) return out;
        }
      }
      return out;
    }
    let ci = upper === undefined ? c.length - 1 : this.#chunkOf(upper.key);
    // The last index ≤ upper (< upper when strict) in chunk ci.
    let i =
      upper === undefined
        ? (c[ci] as string[]).length - 1
        : lowerBound(c[ci] as string[], upper.key, !upper.strict) - 1;
    for (; ci >= 0; ci--, i = ci >= 0 ? (c[ci] as string[]).length - 1 : -1) {
      const chunk = c[ci] as string[];
      for (; i >= 0; i--) {
        const k = chunk[i] as string;
        if (!above(k)) return out;
        out.push(k);
        if (out.length === limit) return out;
      }
    }
    return out;
  }
}

interface Stored {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** An in-memory `KvStore` over a sorted chunk list (see the module comment). */
export class SortedMemoryKvStore implements KvStore {
  readonly kind = 'sim-memory';
  readonly #map = new Map<string, Stored>();
  readonly #order = new SortedKeys();
  #closed = false;

  #assertOpen(what: string): void {
    if (this.#closed) throw new SynodError('STORAGE_CLOSED', `${this.kind} ${what}: the store is closed`);
  }

  #put(key: Uint8Array, value: Uint8Array): void {
    const k = keyOf(key);
    if (!this.#map.has(k)) this.#order.insert(k);
    this.#map.set(k, { key: copy(key), value: copy(value) });
  }

  #del(key: Uint8Array): void {
    const k = keyOf(key);
    if (this.#map.delete(k)) this.#order.remove(k);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertOpen('get');
    assertBytes(key, 'key');
    const e = this.#map.get(keyOf(key));
    return e === undefined ? undefined : copy(e.value);
  }

  async has(key: Uint8Array): Promise<boolean> {
    this.#assertOpen('has');
    assertBytes(key, 'key');
    return this.#map.has(keyOf(key));
  }

  async put(key: Uint8Array, value: Uint8Array, _options?: KvWriteOptions): Promise<void> {
    this.#assertOpen('put');
    assertBytes(key, 'key');
    assertBytes(value, 'value');
    this.#put(key, value);
  }

  async del(key: Uint8Array, _options?: KvWriteOptions): Promise<void> {
    this.#assertOpen('del');
    assertBytes(key, 'key');
    this.#del(key);
  }

  async batch(ops: readonly KvBatchOp[], _options?: KvWriteOptions): Promise<void> {
    this.#assertOpen('batch');
    // Every operation is checked before any is applied (all or nothing).
    for (const [i, op] of ops.entries()) {
      const o = op as { type?: unknown; key?: unknown; value?: unknown } | null;
      if (o === null || typeof o !== 'object' || (o.type !== 'put' && o.type !== 'del'))
        throw new SynodError(
          'ENCODE_INVALID_VALUE',
          `${this.kind} batch: operation ${i} must be a put or a del`,
        );
      assertBytes(o.key, `${this.kind} batch: operation ${i} key`);
      if (o.type === 'put') assertBytes(o.value, `${this.kind} batch: operation ${i} value`);
    }
    for (const op of ops) {
      if (op.type === 'put') this.#put(op.key, op.value);
      else this.#del(op.key);
    }
  }

  /** The entries of `range` now (the snapshot an iteration reads). */
  #collect(range: KvRange | undefined): KvEntry[] {
    const bound = (inclusive: Uint8Array | undefined, exclusive: Uint8Array | undefined) =>
      inclusive !== undefined
        ? { key: keyOf(inclusive), strict: false }
        : exclusive !== undefined
          ? { key: keyOf(exclusive), strict: true }
          : undefined;
    const limit = range?.limit === undefined || range.limit < 0 ? -1 : Math.floor(range.limit);
    const keys = this.#order.range(
      bound(range?.gte, range?.gt),
      bound(range?.lte, range?.lt),
      range?.reverse === true,
      limit,
    );
    return keys.map((k) => {
      const e = this.#map.get(k) as Stored;
      return { key: copy(e.key), value: copy(e.value) };
    });
  }

  async *iterate(range?: KvRange): AsyncIterableIterator<KvEntry> {
    this.#assertOpen('iterate');
    const snapshot = this.#collect(range);
    for (const e of snapshot) {
      this.#assertOpen('iterate');
      yield e;
    }
  }

  async entries(range?: KvRange): Promise<KvEntry[]> {
    this.#assertOpen('entries');
    return this.#collect(range);
  }

  async approximateSize(span?: KvSpan): Promise<number> {
    this.#assertOpen('approximateSize');
    let total = 0;
    for (const e of this.#collect(span)) total += e.key.length + e.value.length;
    return total;
  }

  async compact(_span?: KvSpan): Promise<void> {
    this.#assertOpen('compact');
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
