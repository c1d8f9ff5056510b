import { concatBytes, prefixEnd } from '../bytes.js';
import { assertBatchOps, assertBytes, closedError } from '../errors.js';
import type { KvBatchOp, KvEntry, KvRange, KvSpan, KvStore, KvWriteOptions } from './kv-store.js';

/**
 * A view of `parent` restricted to keys starting with `prefix`; the prefix is
 * added on the way in and removed on the way out. Batches stay atomic (they are
 * one batch on the parent). `close` closes only the view, never the parent.
 * Use `batchOps` to put the view's writes into a larger atomic batch.
 */
export class PrefixedKvStore implements KvStore {
  readonly kind: string;
  readonly prefix: Uint8Array;
  private readonly parent: KvStore;
  private readonly end: Uint8Array | undefined;
  private closed = false;

  constructor(parent: KvStore, prefix: Uint8Array) {
    this.parent = parent;
    this.prefix = new Uint8Array(prefix);
    this.end = prefixEnd(this.prefix);
    this.kind = `prefixed(${parent.kind})`;
  }

  private assertOpen(what: string): void {
    if (this.closed) throw closedError(`${this.kind} ${what}`);
  }

  private key(key: Uint8Array): Uint8Array {
    assertBytes(key, 'key');
    return concatBytes(this.prefix, key);
  }

  /** The parent-level operations equivalent to `ops` on this view. */
  batchOps(ops: readonly KvBatchOp[]): KvBatchOp[] {
    assertBatchOps(ops, `${this.kind} batch`);
    return ops.map((op) =>
      op.type === 'put'
        ? { type: 'put', key: this.key(op.key), value: op.value }
        : { type: 'del', key: this.key(op.key) },
    );
  }

  private span(span: KvSpan | undefined): KvSpan {
    const lt = span?.lt !== undefined ? this.key(span.lt) : this.end;
    return lt === undefined
      ? { gte: span?.gte !== undefined ? this.key(span.gte) : this.prefix }
      : { gte: span?.gte !== undefined ? this.key(span.gte) : this.prefix, lt };
  }

  private range(range: KvRange | undefined): KvRange {
    const out: {
      gt?: Uint8Array;
      gte?: Uint8Array;
      lt?: Uint8Array;
      lte?: Uint8Array;
      reverse?: boolean;
      limit?: number;
    } = {};
    if (range?.gt !== undefined) out.gt = this.key(range.gt);
    if (range?.gte !== undefined) out.gte = this.key(range.gte);
    if (out.gt === undefined && out.gte === undefined) out.gte = this.prefix;
    if (range?.lt !== undefined) out.lt = this.key(range.lt);
    if (range?.lte !== undefined) out.lte = this.key(range.lte);
    if (out.lt === undefined && out.lte === undefined && this.end !== undefined) out.lt = this.end;
    if (range?.reverse !== undefined) out.reverse = range.reverse;
    if (range?.limit !== undefined) out.limit = range.limit;
    return out;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen('get');
    return this.parent.get(this.key(key));
  }

  async has(key: Uint8Array): Promise<boolean> {
    this.assertOpen('has');
    return this.parent.has(this.key(key));
  }

  async put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void> {
    this.assertOpen('put');
    return this.parent.put(this.key(key), value, options);
  }

  async del(key: Uint8Array, options?: KvWriteOptions): Promise<void> {
    this.assertOpen('del');
    return this.parent.del(this.key(key), options);
  }

  async batch(ops: readonly KvBatchOp[], options?: KvWriteOptions): Promise<void> {
    this.assertOpen('batch');
    return this.parent.batch(this.batchOps(ops), options);
  }

  async *iterate(range?: KvRange): AsyncIterableIterator<KvEntry> {
    this.assertOpen('iterate');
    const n = this.prefix.length;
    for await (const { key, value } of this.parent.iterate(this.range(range))) {
      yield { key: key.subarray(n), value };
    }
  }

  async entries(range?: KvRange): Promise<KvEntry[]> {
    const out: KvEntry[] = [];
    for await (const entry of this.iterate(range)) out.push(entry);
    return out;
  }

  async approximateSize(span?: KvSpan): Promise<number> {
    this.assertOpen('approximateSize');
    return this.parent.approximateSize(this.span(span));
  }

  async compact(span?: KvSpan): Promise<void> {
    this.assertOpen('compact');
    return this.parent.compact(this.span(span));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A `KvStore` view of `parent` under `prefix` (see `PrefixedKvStore`). */
export function prefixedKvStore(parent: KvStore, prefix: Uint8Array): PrefixedKvStore {
  return new PrefixedKvStore(parent, prefix);
}
