import { AsyncLocalStorage } from 'node:async_hooks';
import { SynodError } from '@synod/types';
import { compareBytes } from '../bytes.js';
import { assertBatchOps, assertBytes } from '../errors.js';
import type { KvBatchOp, KvEntry, KvRange, KvSpan, KvStore, KvWriteOptions } from './kv-store.js';

/** Counters of a grouped store, for benchmarks and tests. */
export interface WriteGroupStats {
  /** Groups run (nested ones count once, with their outer group). */
  readonly groups: number;
  /** Batches written to the underlying store by groups (0 or 1 per group). */
  readonly groupBatches: number;
  /** Writes (put, del, batch) taken into a group instead of written at once. */
  readonly groupedWrites: number;
  /** Operations written by groups. */
  readonly groupedOps: number;
}

interface Pending {
  readonly key: Uint8Array;
  /** null: deleted. */
  readonly value: Uint8Array | null;
}

interface Group {
  readonly ops: KvBatchOp[];
  /** The latest pending value of each key written in the group (binary string of the key). */
  readonly overlay: Map<string, Pending>;
  sync: boolean;
  /** False once the group's function returned: later writes from its async context go straight through. */
  open: boolean;
}

/** A group's asynchronous context: its store, and the context of any group of another store it runs in. */
interface GroupContext {
  readonly owner: GroupedKvStore;
  readonly group: Group;
  readonly outer: GroupContext | undefined;
}

/**
 * One AsyncLocalStorage for every grouped store in the process. On Node 20
 * each enabled AsyncLocalStorage is visited at every promise created: one per
 * store made the simulator's 100 nodes spend a quarter of their time in
 * `async_hooks` propagation (and twice as long per height in all).
 */
const groupContext = new AsyncLocalStorage<GroupContext>();

const keyId = (key: Uint8Array): string =>
  Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');

function inRange(key: Uint8Array, r: KvRange): boolean {
  if (r.gt !== undefined && compareBytes(key, r.gt) <= 0) return false;
  if (r.gte !== undefined && compareBytes(key, r.gte) < 0) return false;
  if (r.lt !== undefined && compareBytes(key, r.lt) >= 0) return false;
  if (r.lte !== undefined && compareBytes(key, r.lte) > 0) return false;
  return true;
}

/**
 * Group commit over a `KvStore`: `group(fn)` runs `fn`, and every write made
 * in `fn`'s asynchronous context — by any store or view over this one (the
 * block store, the state store, the application's state, the RPC's index) —
 * is taken into one atomic batch written when `fn` returns (fsync'd if any
 * of them asked for `sync`). So the records of one height, or of a range of
 * synced heights, reach the disk together or not at all.
 *
 * - Inside the group a write resolves at once (it is not durable until the
 *   group returns); reads from anywhere see the pending writes (`get`, `has`
 *   and iteration merge them over the store), so memory state advanced by a
 *   grouped write and what the store answers never disagree.
 * - A write from outside the group while it is open waits until the group is
 *   written, then goes to the store: writes stay in program order, and a
 *   writer that awaited its write never sees it resolved before it is durable.
 * - One group at a time; `group` called inside a group joins it.
 * - When `fn` throws, the writes it made are still written (as they would
 *   have been, one by one, without the group), then the error is rethrown.
 * - When the group's batch fails, the store refuses every later write
 *   (`STORAGE_IO`): memory state is then ahead of the disk, and only a
 *   restart (which recovers from what is on disk) makes them agree again.
 */
export class GroupedKvStore implements KvStore {
  readonly kind: string;
  readonly #inner: KvStore;
  /** The group open or being written. */
  #current: Group | undefined;
  #idle: Promise<void> = Promise.resolve();
  #failed: unknown;
  #stats = { groups: 0, groupBatches: 0, groupedWrites: 0, groupedOps: 0 };

  constructor(inner: KvStore) {
    this.#inner = inner;
    this.kind = `grouped(${inner.kind})`;
  }

  stats(): WriteGroupStats {
    return { ...this.#stats };
  }

  /** True while the caller runs inside an open group. */
  inGroup(): boolean {
    return this.#own()?.open === true;
  }

  /** This store's group in the caller's asynchronous context, if any. */
  #own(): Group | undefined {
    for (let c = groupContext.getStore(); c !== undefined; c = c.outer) if (c.owner === this) return c.group;
    return undefined;
  }

  async group<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inGroup()) return fn();
    while (this.#current !== undefined) await this.#idle;
    this.#assertWritable();
    const g: Group = { ops: [], overlay: new Map(), sync: false, open: true };
    this.#current = g;
    let release = (): void => {};
    this.#idle = new Promise((resolve) => {
      release = resolve;
    });
    this.#stats.groups++;
    try {
      let result: T;
      try {
        result = await groupContext.run({ owner: this, group: g, outer: groupContext.getStore() }, fn);
      } finally {
        g.open = false;
        await this.#write(g);
      }
      return result;
    } finally {
      this.#current = undefined;
      release();
    }
  }

  async #write(g: Group): Promise<void> {
    if (g.ops.length === 0) return;
    try {
      await this.#inner.batch(g.ops, { sync: g.sync });
    } catch (err) {
      this.#failed = err;
      throw err;
    }
    this.#stats.groupBatches++;
    this.#stats.groupedOps += g.ops.length;
  }

  #assertWritable(): void {
    if (this.#failed !== undefined)
      throw new SynodError(
        'STORAGE_IO',
        'a grouped write failed earlier: the store refuses writes until restarted',
        {
          cause: this.#failed,
        },
      );
  }

  /** The open group the caller writes into, if any. */
  #target(): Group | undefined {
    const g = this.#own();
    return g?.open ? g : undefined;
  }

  /** Outside writes wait for the open group to be written. */
  async #outside(): Promise<void> {
    while (this.#current !== undefined) await this.#idle;
    this.#assertWritable();
  }

  #take(g: Group, ops: readonly KvBatchOp[], options: KvWriteOptions | undefined): void {
    this.#assertWritable();
    for (const op of ops) {
      g.ops.push(op);
      g.overlay.set(keyId(op.key), { key: op.key, value: op.type === 'put' ? op.value : null });
    }
    if (options?.sync === true) g.sync = true;
    this.#stats.groupedWrites++;
  }

  async put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void> {
    const g = this.#target();
    if (g === undefined) {
      await this.#outside();
      return this.#inner.put(key, value, options);
    }
    assertBytes(key, 'key');
    assertBytes(value, 'value');
    this.#take(g, [{ type: 'put', key, value }], options);
  }

  async del(key: Uint8Array, options?: KvWriteOptions): Promise<void> {
    const g = this.#target();
    if (g === undefined) {
      await this.#outside();
      return this.#inner.del(key, options);
    }
    assertBytes(key, 'key');
    this.#take(g, [{ type: 'del', key }], options);
  }

  async batch(ops: readonly KvBatchOp[], options?: KvWriteOptions): Promise<void> {
    const g = this.#target();
    if (g === undefined) {
      await this.#outside();
      return this.#inner.batch(ops, options);
    }
    assertBatchOps(ops, `${this.kind} batch`);
    this.#take(g, ops, options);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const pending = this.#current?.overlay.get(keyId(key));
    if (pending !== undefined) return pending.value ?? undefined;
    return this.#inner.get(key);
  }

  async has(key: Uint8Array): Promise<boolean> {
    const pending = this.#current?.overlay.get(keyId(key));
    if (pending !== undefined) return pending.value !== null;
    return this.#inner.has(key);
  }

  iterate(range: KvRange = {}): AsyncIterableIterator<KvEntry> {
    const g = this.#current;
    if (g === undefined || g.overlay.size === 0) return this.#inner.iterate(range);
    const pending = [...g.overlay.values()].filter((p) => inRange(p.key, range));
    if (pending.length === 0) return this.#inner.iterate(range);
    const reverse = range.reverse === true;
    pending.sort((a, b) => (reverse ? compareBytes(b.key, a.key) : compareBytes(a.key, b.key)));
    const { limit: _limit, ...unlimited } = range;
    return merge(this.#inner.iterate(unlimited), pending, reverse, range.limit);
  }

  async entries(range?: KvRange): Promise<KvEntry[]> {
    const out: KvEntry[] = [];
    for await (const e of this.iterate(range)) out.push(e);
    return out;
  }

  approximateSize(span?: KvSpan): Promise<number> {
    return this.#inner.approximateSize(span);
  }

  compact(span?: KvSpan): Promise<void> {
    return this.#inner.compact(span);
  }

  async close(): Promise<void> {
    while (this.#current !== undefined) await this.#idle.catch(() => undefined);
    return this.#inner.close();
  }
}

/** The store's entries with the pending ones (a snapshot taken at the start) merged over them. */
async function* merge(
  inner: AsyncIterableIterator<KvEntry>,
  pending: readonly Pending[],
  reverse: boolean,
  limit: number | undefined,
): AsyncIterableIterator<KvEntry> {
  const max = limit === undefined || limit < 0 ? Number.POSITIVE_INFINITY : limit;
  if (max === 0) return;
  const before = (a: Uint8Array, b: Uint8Array): number =>
    reverse ? -compareBytes(a, b) : compareBytes(a, b);
  let n = 0;
  let i = 0;
  for await (const e of inner) {
    // Pending keys that come first.
    while (i < pending.length && before((pending[i] as Pending).key, e.key) < 0) {
      const p = pending[i++] as Pending;
      if (p.value === null) continue;
      yield { key: p.key, value: p.value };
      if (++n >= max) return;
    }
    if (i < pending.length && compareBytes((pending[i] as Pending).key, e.key) === 0) {
      const p = pending[i++] as Pending;
      if (p.value === null) continue;
      yield { key: p.key, value: p.value };
    } else yield e;
    if (++n >= max) return;
  }
  while (i < pending.length) {
    const p = pending[i++] as Pending;
    if (p.value === null) continue;
    yield { key: p.key, value: p.value };
    if (++n >= max) return;
  }
}
