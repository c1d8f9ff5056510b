import { asView, copyBytes } from '../bytes.js';
import { assertBatchOps, assertBytes, closedError, toStorageError } from '../errors.js';
import type { KvBatchOp, KvEntry, KvRange, KvSpan, KvStore, KvWriteOptions } from './kv-store.js';

interface LevelWriteOptions {
  sync: boolean;
}

interface BytesIterator {
  nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>>;
  close(): Promise<void>;
}

/**
 * The part of an `abstract-level` database (opened with `view` key and value
 * encodings) this adapter uses. `sync` is a classic-level option that
 * memory-level ignores; abstract-level's own typings do not declare it.
 */
export interface BytesLevel {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  put(key: Uint8Array, value: Uint8Array, options: LevelWriteOptions): Promise<void>;
  del(key: Uint8Array, options: LevelWriteOptions): Promise<void>;
  batch(
    ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }>,
    options: LevelWriteOptions,
  ): Promise<void>;
  iterator(options: RangeOptions): BytesIterator;
  close(): Promise<void>;
}

/** How an implementation measures and compacts a span. */
export interface LevelSizing {
  approximateSize(span: KvSpan): Promise<number>;
  compact(span: KvSpan): Promise<void>;
}

interface RangeOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse: boolean;
  limit: number;
}

const ITERATOR_BATCH = 256;

function levelRange(range: KvRange | undefined): RangeOptions {
  const out: RangeOptions = {
    reverse: range?.reverse === true,
    limit: range?.limit === undefined || range.limit < 0 ? -1 : Math.floor(range.limit),
  };
  if (range?.gt !== undefined) out.gt = range.gt;
  if (range?.gte !== undefined) out.gte = range.gte;
  if (range?.lt !== undefined) out.lt = range.lt;
  if (range?.lte !== undefined) out.lte = range.lte;
  return out;
}

/**
 * A `KvStore` over any `abstract-level` database opened with `view`
 * encodings. `copy` makes reads and writes copy their bytes (memory-level keeps
 * references to the caller's arrays; LevelDB copies by itself).
 */
export class AbstractLevelKvStore implements KvStore {
  readonly kind: string;
  private readonly db: BytesLevel;
  private readonly sizing: LevelSizing;
  private readonly copy: boolean;
  private closed = false;

  private readonly writeBatch: BytesLevel['batch'];

  /**
   * `writeBatch`: writes a batch of already-valid byte operations, when the
   * database has a faster way than its public `batch` (see
   * `openLevelKvStore`); default `db.batch`.
   */
  constructor(
    db: BytesLevel,
    kind: string,
    sizing: LevelSizing,
    copy: boolean,
    writeBatch?: BytesLevel['batch'],
  ) {
    this.db = db;
    this.kind = kind;
    this.sizing = sizing;
    this.copy = copy;
    this.writeBatch = writeBatch ?? ((ops, options) => db.batch(ops, options));
  }

  private assertOpen(what: string): void {
    if (this.closed) throw closedError(`${this.kind} ${what}`);
  }

  private out(b: Uint8Array): Uint8Array {
    return this.copy ? copyBytes(b) : asView(b);
  }

  private in(b: Uint8Array): Uint8Array {
    return this.copy ? copyBytes(b) : b;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen('get');
    assertBytes(key, 'key');
    try {
      const value = await this.db.get(key);
      return value === undefined ? undefined : this.out(value);
    } catch (err) {
      throw toStorageError(err, `${this.kind} get`);
    }
  }

  async has(key: Uint8Array): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void> {
    this.assertOpen('put');
    assertBytes(key, 'key');
    assertBytes(value, 'value');
    try {
      await this.db.put(this.in(key), this.in(value), { sync: options?.sync === true });
    } catch (err) {
      throw toStorageError(err, `${this.kind} put`);
    }
  }

  async del(key: Uint8Array, options?: KvWriteOptions): Promise<void> {
    this.assertOpen('del');
    assertBytes(key, 'key');
    try {
      await this.db.del(key, { sync: options?.sync === true });
    } catch (err) {
      throw toStorageError(err, `${this.kind} del`);
    }
  }

  async batch(ops: readonly KvBatchOp[], options?: KvWriteOptions): Promise<void> {
    this.assertOpen('batch');
    assertBatchOps(ops, `${this.kind} batch`);
    if (ops.length === 0) return;
    const levelOps = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, key: this.in(op.key), value: this.in(op.value) }
        : { type: 'del' as const, key: op.key },
    );
    try {
      await this.writeBatch(levelOps, { sync: options?.sync === true });
    } catch (err) {
      throw toStorageError(err, `${this.kind} batch`);
    }
  }

  async *iterate(range?: KvRange): AsyncIterableIterator<KvEntry> {
    this.assertOpen('iterate');
    let it: BytesIterator;
    try {
      it = this.db.iterator(levelRange(range));
    } catch (err) {
      throw toStorageError(err, `${this.kind} iterate`);
    }
    try {
      for (;;) {
        let entries: Array<[Uint8Array, Uint8Array]>;
        try {
          entries = await it.nextv(ITERATOR_BATCH);
        } catch (err) {
          throw toStorageError(err, `${this.kind} iterate`);
        }
        if (entries.length === 0) return;
        for (const [key, value] of entries) yield { key: this.out(key), value: this.out(value) };
      }
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  async entries(range?: KvRange): Promise<KvEntry[]> {
    const out: KvEntry[] = [];
    for await (const entry of this.iterate(range)) out.push(entry);
    return out;
  }

  async approximateSize(span?: KvSpan): Promise<number> {
    this.assertOpen('approximateSize');
    try {
      return await this.sizing.approximateSize(span ?? {});
    } catch (err) {
      throw toStorageError(err, `${this.kind} approximateSize`);
    }
  }

  async compact(span?: KvSpan): Promise<void> {
    this.assertOpen('compact');
    try {
      await this.sizing.compact(span ?? {});
    } catch (err) {
      throw toStorageError(err, `${this.kind} compact`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.db.close();
    } catch (err) {
      throw toStorageError(err, `${this.kind} close`);
    }
  }
}
