import { fromHex, toHex } from '@synod/crypto';
import type { Application, CheckTxResult, Counter, Gauge, Logger } from '@synod/types';
import { SynodError, txHash } from '@synod/types';
import { IndexedHeap } from './indexed-heap.js';
import type { MempoolOptions, ResolvedOptions } from './options.js';
import { resolveOptions } from './options.js';
import { OrderedWalk } from './ordered-walk.js';
import type { PoolEntry, SenderQueue } from './pool-entry.js';
import {
  headOf,
  indexInQueue,
  isBetter,
  isWorse,
  lowerBound,
  refreshEffective,
  tailOf,
} from './pool-entry.js';
import type {
  AddOptions,
  AddResult,
  MempoolRejectCode,
  MempoolTx,
  ReapLimits,
  TxAddedEvent,
  UpdateOptions,
  UpdateResult,
} from './results.js';
import { SeenCache } from './seen-cache.js';
import { SharedExclusiveLock } from './shared-exclusive-lock.js';

/** The one application method the mempool needs. */
export type MempoolApp = Pick<Application, 'checkTx'>;

type RemovalReason = 'committed' | 'superseded' | 'evicted' | 'expired' | 'invalid' | 'replaced';

/** Reaping stops after this many consecutive candidates that do not fit (the block is full). */
const REAP_MAX_MISSES = 32;

/** A tx hash as bytes, or as hex. */
export type TxHashInput = Uint8Array | string;

function hashKey(hash: TxHashInput): string {
  return typeof hash === 'string' ? hash.toLowerCase() : toHex(hash);
}

/** Why a checkTx 'OK' result cannot be used, or undefined when it can. */
function malformedResult(res: CheckTxResult): string | undefined {
  if (res.priority !== undefined && typeof res.priority !== 'bigint')
    return 'checkTx priority is not a bigint';
  if (res.gasWanted !== undefined && (!Number.isSafeInteger(res.gasWanted) || res.gasWanted < 0)) {
    return 'checkTx gasWanted is not a non-negative integer';
  }
  if (res.nonce !== undefined && (!Number.isSafeInteger(res.nonce) || res.nonce < 0)) {
    return 'checkTx nonce is not a non-negative integer';
  }
  if (res.sender !== undefined && !(res.sender instanceof Uint8Array)) return 'checkTx sender is not bytes';
  return undefined;
}

/**
 * A bounded, prioritised, deduplicated transaction pool. See README.md for
 * the rules (ordering, nonce policy, eviction, expiry) and the defaults.
 */
export class Mempool {
  readonly #app: MempoolApp;
  readonly #o: ResolvedOptions;
  readonly #log: Logger;
  /** Pending entries by hash key, in arrival order (expiry relies on it). */
  readonly #byHash = new Map<string, PoolEntry>();
  readonly #queues = new Map<string, SenderQueue>();
  /** Queues by head, best first (reaping). */
  readonly #heads = new IndexedHeap<SenderQueue>(
    (a, b) => isBetter(headOf(a), headOf(b)),
    (q) => q.headPos,
    (q, pos) => {
      q.headPos = pos;
    },
  );
  /** Queues by tail, worst first (eviction never strands a higher nonce). */
  readonly #tails = new IndexedHeap<SenderQueue>(
    (a, b) => isWorse(tailOf(a), tailOf(b)),
    (q) => q.tailPos,
    (q, pos) => {
      q.tailPos = pos;
    },
  );
  readonly #seen: SeenCache;
  /** Hashes whose checkTx('new') is under way (a copy arriving meanwhile is a DUPLICATE). */
  readonly #inFlight = new Set<string>();
  readonly #lock = new SharedExclusiveLock();
  readonly #listeners = new Set<(event: TxAddedEvent) => void>();
  #bytes = 0;
  #seq = 0;
  #height: number;

  readonly #mTxs: Gauge;
  readonly #mBytes: Gauge;
  readonly #mAdded: Counter;
  readonly #mRejected: Counter;
  readonly #mRemoved: Counter;

  constructor(app: MempoolApp, options: MempoolOptions = {}) {
    this.#app = app;
    this.#o = resolveOptions(options);
    this.#log = this.#o.logger.child({ module: 'mempool' });
    this.#seen = new SeenCache(this.#o.cacheSize);
    this.#height = this.#o.height;
    const m = this.#o.metrics;
    this.#mTxs = m.gauge({ name: 'synod_mempool_txs', help: 'Pending transactions in the mempool' });
    this.#mBytes = m.gauge({ name: 'synod_mempool_size_bytes', help: 'Total bytes of pending transactions' });
    // The limits, so that an alert can compare the pool's size with them (a full pool rejects).
    m.gauge({ name: 'synod_mempool_max_txs', help: 'Most pending transactions (the size limit)' }).set(
      this.#o.maxTxs,
    );
    m.gauge({ name: 'synod_mempool_max_bytes', help: 'Most bytes of pending transactions' }).set(
      this.#o.maxBytes,
    );
    this.#mAdded = m.counter({
      name: 'synod_mempool_added_total',
      help: 'Transactions accepted into the mempool',
    });
    this.#mRejected = m.counter({
      name: 'synod_mempool_rejected_total',
      help: 'Transactions the mempool rejected, by code',
      labelNames: ['code'],
    });
    this.#mRemoved = m.counter({
      name: 'synod_mempool_removed_total',
      help: 'Transactions that left the mempool, by reason',
      labelNames: ['reason'],
    });
  }

  /** Number of pending transactions. */
  get size(): number {
    return this.#byHash.size;
  }

  /** Total bytes of pending transactions. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Height of the last block passed to `update` (or the initial height). */
  get height(): number {
    return this.#height;
  }

  has(hash: TxHashInput): boolean {
    return this.#byHash.has(hashKey(hash));
  }

  /** The pending transaction's bytes, or undefined. */
  get(hash: TxHashInput): Uint8Array | undefined {
    return this.#byHash.get(hashKey(hash))?.tx;
  }

  /**
   * Validates `tx` and adds it to the pool. Ordinary rejections are results,
   * not exceptions: TX_TOO_LARGE, DUPLICATE (seen-cache), checkTx's code,
   * TX_INVALID (unusable checkTx result), NONCE_CONFLICT, MEMPOOL_FULL. Throws
   * only a TypeError for non-bytes input, or what checkTx throws.
   */
  async add(tx: Uint8Array, options: AddOptions = {}): Promise<AddResult> {
    if (!(tx instanceof Uint8Array)) throw new TypeError('Mempool.add: tx must be a Uint8Array');
    const o = this.#o;
    if (tx.byteLength > o.maxTxBytes) {
      return this.#reject(
        'TX_TOO_LARGE',
        `tx is ${tx.byteLength} bytes; the limit is ${o.maxTxBytes}`,
        undefined,
      );
    }
    const hash = txHash(tx);
    const key = toHex(hash);
    if (this.#byHash.has(key) || this.#inFlight.has(key) || this.#seen.has(key)) {
      this.#seen.touch(key);
      return this.#reject('DUPLICATE', 'tx already seen (pending, in flight, or recently committed)', hash);
    }
    // A view into a larger buffer (e.g. a network read) is copied, so a pending tx
    // never keeps that whole buffer alive. Otherwise the caller's bytes are kept:
    // they must not be modified afterwards.
    const bytes = tx.byteOffset === 0 && tx.byteLength === tx.buffer.byteLength ? tx : new Uint8Array(tx);
    // Claim the hash before awaiting, so concurrent copies are dropped cheaply.
    this.#inFlight.add(key);
    const release = this.#lock.tryShared() ?? (await this.#lock.shared());
    try {
      // Re-validate after the await: a commit that ran meanwhile may have recorded this tx.
      if (this.#seen.has(key)) return this.#reject('DUPLICATE', 'tx committed meanwhile', hash);
      const res = await this.#app.checkTx(bytes, 'new');
      if (res.code !== 'OK') {
        if (o.keepInvalidTxsInCache) this.#seen.add(key);
        return this.#reject(
          res.code,
          res.log === '' ? `checkTx rejected the tx (${res.code})` : res.log,
          hash,
        );
      }
      const malformed = malformedResult(res);
      if (malformed !== undefined) {
        if (o.keepInvalidTxsInCache) this.#seen.add(key);
        return this.#reject('TX_INVALID', malformed, hash);
      }
      const result = this.#insert(bytes, key, hash, res, options.source);
      if (result.accepted) this.#seen.add(key);
      return result;
    } finally {
      this.#inFlight.delete(key);
      release();
    }
  }

  /**
   * Transactions for a proposal, in priority order: best effective priority
   * first (ties: earlier arrival), each sender's txs in consecutive nonce order
   * from its lowest pending nonce (a nonce gap stops that sender). A tx that
   * does not fit the remaining bytes or gas is skipped with its sender's later
   * nonces; reaping stops after 32 consecutive misses. Does not remove txs.
   */
  reap(limits: ReapLimits = {}): Uint8Array[] {
    const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
    const maxGas = limits.maxGas ?? Number.POSITIVE_INFINITY;
    const maxTxs = limits.maxTxs ?? Number.POSITIVE_INFINITY;
    const overhead = limits.txOverheadBytes ?? 0;
    for (const [name, v] of [
      ['maxBytes', maxBytes],
      ['maxGas', maxGas],
      ['maxTxs', maxTxs],
      ['txOverheadBytes', overhead],
    ] as const) {
      if (Number.isNaN(v) || v < 0) throw new RangeError(`Mempool.reap: ${name} must be ≥ 0, got ${v}`);
    }
    const out: Uint8Array[] = [];
    if (maxTxs < 1) return out;
    let bytes = 0;
    let gas = 0;
    let misses = 0;
    const walk = new OrderedWalk(this.#heads, 'best-first', isBetter);
    for (let e = walk.next(); e !== undefined; e = walk.next()) {
      const size = e.tx.byteLength + overhead;
      if (bytes + size > maxBytes || gas + e.gasWanted > maxGas) {
        misses += 1;
        if (misses >= REAP_MAX_MISSES) break;
        continue;
      }
      misses = 0;
      out.push(e.tx);
      bytes += size;
      gas += e.gasWanted;
      if (out.length >= maxTxs) break;
      const next = walk.peekFollower();
      if (next !== undefined && e.nonce !== undefined && next.nonce === e.nonce + 1) walk.follow();
    }
    return out;
  }

  /**
   * Pending transactions in priority order (the order `reap` uses, but
   * continuing past nonce gaps), at most `limit`.
   */
  contents(limit: number = Number.POSITIVE_INFINITY): MempoolTx[] {
    const out: MempoolTx[] = [];
    const walk = new OrderedWalk(this.#heads, 'best-first', isBetter);
    for (let e = walk.next(); e !== undefined && out.length < limit; e = walk.next()) {
      out.push(this.#describe(e));
      walk.follow();
    }
    return out;
  }

  /**
   * After a block at `height` was committed: removes its txs (and lower
   * pending nonces of the same senders), expires old txs, then re-checks the
   * rest with checkTx('recheck') in each sender's nonce order, dropping a
   * failing tx together with its sender's higher nonces. Waits for in-flight
   * adds; adds that arrive meanwhile wait for it.
   */
  async update(
    height: number,
    committedTxs: readonly Uint8Array[],
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    const release = await this.#lock.exclusive();
    try {
      if (!Number.isSafeInteger(height) || height <= this.#height) {
        throw new SynodError('INTERNAL', `Mempool.update: height ${height} must be above ${this.#height}`);
      }
      this.#height = height;
      let committed = 0;
      let superseded = 0;
      for (const tx of committedTxs) {
        const key = toHex(txHash(tx));
        this.#seen.add(key);
        const entry = this.#byHash.get(key);
        if (entry === undefined) continue;
        const i = indexInQueue(entry);
        if (i > 0) superseded += this.#forget(this.#removeRange(entry.queue, 0, i, 'superseded'));
        this.#removeRange(entry.queue, 0, 1, 'committed');
        committed += 1;
      }
      const expired = this.#expire();
      let rechecked = 0;
      let invalid = 0;
      if (options.recheck ?? this.#o.recheck) {
        for (const queue of [...this.#queues.values()]) {
          for (const entry of [...queue.txs]) {
            if (this.#byHash.get(entry.key) !== entry) break;
            rechecked += 1;
            const res = await this.#app.checkTx(entry.tx, 'recheck');
            if (res.code === 'OK') continue;
            const i = indexInQueue(entry);
            const dropped = this.#removeRange(queue, i, queue.txs.length, 'invalid');
            if (!this.#o.keepInvalidTxsInCache) this.#forget(dropped);
            invalid += dropped.length;
            this.#log.debug('recheck dropped tx', {
              hash: entry.key,
              code: res.code,
              dependents: dropped.length - 1,
            });
            break;
          }
        }
      }
      const result = { committed, superseded, expired, rechecked, invalid };
      this.#log.debug('mempool updated', { height, size: this.size, bytes: this.#bytes, ...result });
      return result;
    } finally {
      this.#gauges();
      release();
    }
  }

  /** Drops every pending tx and clears the seen-cache (waits for in-flight adds). */
  async flush(): Promise<void> {
    const release = await this.#lock.exclusive();
    try {
      const n = this.#byHash.size;
      this.#byHash.clear();
      this.#queues.clear();
      this.#heads.clear();
      this.#tails.clear();
      this.#seen.clear();
      this.#bytes = 0;
      this.#gauges();
      this.#log.info('mempool flushed', { dropped: n });
    } finally {
      release();
    }
  }

  /**
   * Calls `listener` once for every newly accepted tx (not for duplicates),
   * synchronously after insertion: the hook for gossip. Returns an unsubscribe
   * function. A throwing listener is logged and ignored.
   */
  onTxAdded(listener: (event: TxAddedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #reject(code: MempoolRejectCode | string, reason: string, hash: Uint8Array | undefined): AddResult {
    this.#mRejected.inc({ code });
    return { accepted: false, code, reason, hash };
  }

  #insert(
    tx: Uint8Array,
    key: string,
    hash: Uint8Array,
    res: CheckTxResult,
    source: string | undefined,
  ): AddResult {
    const priority = res.priority ?? 0n;
    const sender = res.nonce !== undefined ? res.sender : undefined;
    const nonce = sender !== undefined ? res.nonce : undefined;
    const queueKey = sender !== undefined ? toHex(sender) : `#${key}`;
    const existingQueue = this.#queues.get(queueKey);

    let effective = priority;
    if (existingQueue !== undefined && nonce !== undefined) {
      const i = lowerBound(existingQueue.txs, nonce);
      const same = existingQueue.txs[i];
      if (same !== undefined && same.nonce === nonce) {
        return this.#replace(existingQueue, i, same, tx, key, hash, res, source);
      }
      const prev = existingQueue.txs[i - 1];
      if (prev !== undefined && prev.effective < effective) effective = prev.effective;
    }

    const victims = this.#planEvictions(tx.byteLength, effective);
    if (typeof victims === 'string') return this.#reject('MEMPOOL_FULL', victims, hash);
    const evicted: Uint8Array[] = [];
    for (const victim of victims) {
      // Each victim is its queue's tail by the time it is removed (planned in that order).
      this.#removeRange(victim.queue, victim.queue.txs.length - 1, victim.queue.txs.length, 'evicted');
      this.#seen.delete(victim.key);
      evicted.push(fromHex(victim.key));
    }
    if (victims.length > 0) {
      this.#log.debug('evicted lower-priority txs', {
        count: victims.length,
        forPriority: String(effective),
      });
    }

    const found = this.#queues.get(queueKey);
    const queue: SenderQueue = found ?? { key: queueKey, sender, txs: [], headPos: -1, tailPos: -1 };
    const entry: PoolEntry = {
      tx,
      key,
      nonce,
      priority,
      gasWanted: res.gasWanted ?? 0,
      seq: this.#seq++,
      height: this.#height,
      timeMs: this.#o.clock?.now() ?? 0,
      effective: priority,
      effectiveNum: Number(priority),
      queue,
    };
    if (found === undefined) {
      queue.txs.push(entry);
      this.#queues.set(queueKey, queue);
      this.#heads.push(queue);
      this.#tails.push(queue);
    } else {
      const i = lowerBound(queue.txs, nonce ?? 0);
      queue.txs.splice(i, 0, entry);
      refreshEffective(queue.txs, i);
      this.#heads.update(queue);
      this.#tails.update(queue);
    }
    this.#byHash.set(key, entry);
    this.#bytes += tx.byteLength;
    this.#mAdded.inc();
    this.#gauges();
    this.#emit(entry, source);
    return { accepted: true, code: 'OK', reason: '', hash, evicted, replaced: undefined };
  }

  /** Same sender and nonce as a pending tx: a strictly higher priority replaces it. */
  #replace(
    queue: SenderQueue,
    i: number,
    old: PoolEntry,
    tx: Uint8Array,
    key: string,
    hash: Uint8Array,
    res: CheckTxResult,
    source: string | undefined,
  ): AddResult {
    const priority = res.priority ?? 0n;
    if (priority <= old.priority) {
      return this.#reject(
        'NONCE_CONFLICT',
        `sender already has pending nonce ${old.nonce} at priority ${old.priority}; a replacement needs a higher priority (got ${priority})`,
        hash,
      );
    }
    const delta = tx.byteLength - old.tx.byteLength;
    if (this.#bytes + delta > this.#o.maxBytes) {
      return this.#reject(
        'MEMPOOL_FULL',
        `mempool full: replacing nonce ${old.nonce} would bring it to ${this.#bytes + delta} bytes (max ${this.#o.maxBytes})`,
        hash,
      );
    }
    const entry: PoolEntry = {
      tx,
      key,
      nonce: old.nonce,
      priority,
      gasWanted: res.gasWanted ?? 0,
      seq: this.#seq++,
      height: this.#height,
      timeMs: this.#o.clock?.now() ?? 0,
      effective: priority,
      effectiveNum: Number(priority),
      queue,
    };
    queue.txs[i] = entry;
    refreshEffective(queue.txs, i);
    this.#heads.update(queue);
    this.#tails.update(queue);
    this.#byHash.delete(old.key);
    this.#byHash.set(key, entry);
    this.#bytes += delta;
    this.#mRemoved.inc({ reason: 'replaced' });
    this.#mAdded.inc();
    this.#gauges();
    this.#emit(entry, source);
    return { accepted: true, code: 'OK', reason: '', hash, evicted: [], replaced: fromHex(old.key) };
  }

  /**
   * The txs to evict so that one more tx of `bytes` bytes fits, lowest
   * effective priority first (ties: latest arrival first), always a queue's
   * current tail; each must be strictly below `effective`. Returns the
   * rejection reason instead when that is not possible (nothing is evicted).
   */
  #planEvictions(bytes: number, effective: bigint): PoolEntry[] | string {
    const o = this.#o;
    let overCount = this.#byHash.size + 1 - o.maxTxs;
    let overBytes = this.#bytes + bytes - o.maxBytes;
    if (overCount <= 0 && overBytes <= 0) return [];
    const victims: PoolEntry[] = [];
    const walk = new OrderedWalk(this.#tails, 'worst-first', isWorse);
    while (overCount > 0 || overBytes > 0) {
      const victim = walk.next();
      if (victim === undefined || !(victim.effective < effective)) {
        const lowest = this.#tails.peek();
        const lowestText = lowest === undefined ? 'none' : String(tailOf(lowest).effective);
        return (
          `mempool full (${this.#byHash.size}/${o.maxTxs} txs, ${this.#bytes}/${o.maxBytes} bytes): ` +
          `the tx's effective priority ${effective} is not above the lowest evictable priority ${lowestText}`
        );
      }
      victims.push(victim);
      overCount -= 1;
      overBytes -= victim.tx.byteLength;
      walk.follow();
    }
    return victims;
  }

  /** Removes `queue.txs[from, to)` and keeps the indexes consistent. */
  #removeRange(queue: SenderQueue, from: number, to: number, reason: RemovalReason): PoolEntry[] {
    const removed = queue.txs.splice(from, to - from);
    for (const e of removed) {
      this.#byHash.delete(e.key);
      this.#bytes -= e.tx.byteLength;
    }
    if (queue.txs.length === 0) {
      this.#queues.delete(queue.key);
      this.#heads.remove(queue);
      this.#tails.remove(queue);
    } else {
      refreshEffective(queue.txs, from);
      this.#heads.update(queue);
      this.#tails.update(queue);
    }
    if (removed.length > 0) this.#mRemoved.inc({ reason }, removed.length);
    return removed;
  }

  /** Removes the hashes of `entries` from the seen-cache (so they may be submitted again); returns the count. */
  #forget(entries: readonly PoolEntry[]): number {
    for (const e of entries) this.#seen.delete(e.key);
    return entries.length;
  }

  /** Drops txs older than ttlBlocks / ttlMs, with their same-sender higher nonces. */
  #expire(): number {
    const { ttlBlocks, ttlMs, clock } = this.#o;
    if (ttlBlocks === 0 && ttlMs === 0) return 0;
    const now = ttlMs > 0 && clock !== undefined ? clock.now() : 0;
    let expired = 0;
    // Map order is arrival order, and heights / times only grow with it: stop at the first young tx.
    for (const entry of this.#byHash.values()) {
      const old =
        (ttlBlocks > 0 && this.#height - entry.height >= ttlBlocks) ||
        (ttlMs > 0 && now - entry.timeMs >= ttlMs);
      if (!old) break;
      const i = indexInQueue(entry);
      expired += this.#forget(this.#removeRange(entry.queue, i, entry.queue.txs.length, 'expired'));
    }
    return expired;
  }

  #describe(e: PoolEntry): MempoolTx {
    return {
      tx: e.tx,
      hash: fromHex(e.key),
      sender: e.queue.sender,
      nonce: e.nonce,
      priority: e.priority,
      effectivePriority: e.effective,
      gasWanted: e.gasWanted,
      height: e.height,
      timeMs: e.timeMs,
    };
  }

  #emit(entry: PoolEntry, source: string | undefined): void {
    if (this.#listeners.size === 0) return;
    const event: TxAddedEvent = { ...this.#describe(entry), source };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#log.warn('onTxAdded listener threw', { err: String(err) });
      }
    }
  }

  #gauges(): void {
    this.#mTxs.set(this.#byHash.size);
    this.#mBytes.set(this.#bytes);
  }
}
