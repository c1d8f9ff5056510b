import type { KvBatchOp, KvStore } from '@synod/storage';
import { SynodError } from '@synod/types';
import { concat, Reader, readU64Number, u64, Writer } from './bytes.js';

/**
 * The ledger's persistent layout in a KvStore (all keys below are prefixed
 * with one byte, so the ledger can share a store or live in a prefixed view):
 *
 *   'M'                          → meta: height u64 ‖ timeMs u64 ‖ historyFloor u64 ‖ appHash(32)
 *   'L' ‖ stateKey               → version u64 ‖ value            (the latest state, loaded at start)
 *   'H' ‖ stateKey ‖ version u64 → 0x01 ‖ value | 0x00 (deleted)  (history, for queries at a height)
 *   'O' ‖ supersededAt u64 ‖ stateKey ‖ version u64 → ''          (which history entries pruning may drop)
 *
 * A block's changes and the new meta are written in one atomic batch at
 * commit, so the store always holds the state of exactly one committed height.
 */
const P_META = 0x4d;
const P_LATEST = 0x4c;
const P_HISTORY = 0x48;
const P_OBSOLETE = 0x4f;

const META_KEY = Uint8Array.of(P_META);
const U64_MAX_BYTES = new Uint8Array(8).fill(0xff);
const PRESENT = Uint8Array.of(0x01);
const DELETED = Uint8Array.of(0x00);

export interface StateMeta {
  /** Last committed block height (0 after initChain, before the first block). */
  readonly height: number;
  /** Time of that block (genesis time after initChain). */
  readonly timeMs: number;
  /** Lowest height queries can still answer for. */
  readonly historyFloor: number;
  readonly appHash: Uint8Array;
}

/** One state key written by a block. */
export interface StateChange {
  readonly key: Uint8Array;
  /** null: deleted. */
  readonly value: Uint8Array | null;
  /** Version (height) of the value it replaces; undefined when the key is new. */
  readonly previousVersion: number | undefined;
}

function encodeMeta(m: StateMeta): Uint8Array {
  return new Writer().u64(m.height).u64(m.timeMs).u64(m.historyFloor).bytes(m.appHash).finish();
}

function decodeMeta(b: Uint8Array): StateMeta {
  const r = new Reader(b);
  const height = r.u64Number();
  const timeMs = r.u64Number();
  const historyFloor = r.u64Number();
  const appHash = r.bytes(32);
  r.end();
  return { height, timeMs, historyFloor, appHash };
}

const historyKey = (stateKey: Uint8Array, version: number): Uint8Array =>
  concat(Uint8Array.of(P_HISTORY), stateKey, u64(version));

export class StateDb {
  constructor(private readonly kv: KvStore) {}

  async readMeta(): Promise<StateMeta | undefined> {
    const b = await this.kv.get(META_KEY);
    if (b === undefined) return undefined;
    try {
      return decodeMeta(b);
    } catch (cause) {
      throw new SynodError('STORAGE_CORRUPT', 'ledger: unreadable state meta', { cause });
    }
  }

  /** Every key of the latest state with its value and version. */
  async *latest(): AsyncIterable<{ key: Uint8Array; value: Uint8Array; version: number }> {
    for await (const e of this.kv.iterate({
      gte: Uint8Array.of(P_LATEST),
      lt: Uint8Array.of(P_LATEST + 1),
    })) {
      if (e.value.length < 8) throw new SynodError('STORAGE_CORRUPT', 'ledger: truncated state entry');
      yield { key: e.key.slice(1), value: e.value.slice(8), version: readU64Number(e.value, 0) };
    }
  }

  /** Writes the changes of block `version` and the new meta in one atomic batch. */
  async commit(
    version: number,
    changes: readonly StateChange[],
    meta: StateMeta,
    sync: boolean,
  ): Promise<void> {
    const ops: KvBatchOp[] = [];
    const v = u64(version);
    for (const c of changes) {
      const latestKey = concat(Uint8Array.of(P_LATEST), c.key);
      if (c.value === null) ops.push({ type: 'del', key: latestKey });
      else ops.push({ type: 'put', key: latestKey, value: concat(v, c.value) });
      ops.push({
        type: 'put',
        key: historyKey(c.key, version),
        value: c.value === null ? DELETED : concat(PRESENT, c.value),
      });
      if (c.previousVersion !== undefined) {
        ops.push({
          type: 'put',
          key: concat(Uint8Array.of(P_OBSOLETE), v, c.key, u64(c.previousVersion)),
          value: DELETED,
        });
      }
      if (c.value === null) {
        // The deletion marker itself is only needed while older versions are kept.
        ops.push({ type: 'put', key: concat(Uint8Array.of(P_OBSOLETE), v, c.key, v), value: DELETED });
      }
    }
    ops.push({ type: 'put', key: META_KEY, value: encodeMeta(meta) });
    await this.kv.batch(ops, { sync });
  }

  /**
   * Drops the history entries no query at a height ≥ `floor` can need (those
   * superseded at or before `floor`). Idempotent; resumes after a crash.
   * Returns how many were dropped.
   */
  async prune(floor: number): Promise<number> {
    const lt = concat(Uint8Array.of(P_OBSOLETE), u64(floor + 1));
    let dropped = 0;
    let ops: KvBatchOp[] = [];
    for await (const e of this.kv.iterate({ gte: Uint8Array.of(P_OBSOLETE), lt })) {
      const stateKeyAndVersion = e.key.subarray(9);
      ops.push({ type: 'del', key: concat(Uint8Array.of(P_HISTORY), stateKeyAndVersion) });
      ops.push({ type: 'del', key: e.key });
      dropped++;
      if (ops.length >= 10_000) {
        await this.kv.batch(ops);
        ops = [];
      }
    }
    if (ops.length > 0) await this.kv.batch(ops);
    return dropped;
  }

  /** The value of `stateKey` after block `height` (undefined when absent then). */
  async valueAt(stateKey: Uint8Array, height: number): Promise<Uint8Array | undefined> {
    const [e] = await this.kv.entries({
      gte: historyKey(stateKey, 0),
      lte: historyKey(stateKey, height),
      reverse: true,
      limit: 1,
    });
    if (e === undefined || e.value[0] !== PRESENT[0]) return undefined;
    return e.value.slice(1);
  }

  /**
   * Every (stateKey, value) of table `tag` after block `height`, in key order.
   * Skips from key to key (two seeks per key that ever existed), not through
   * every version.
   */
  async tableAt(tag: number, height: number): Promise<{ key: Uint8Array; value: Uint8Array }[]> {
    const out: { key: Uint8Array; value: Uint8Array }[] = [];
    const end = Uint8Array.of(P_HISTORY, tag + 1);
    let first = true;
    let cursor: Uint8Array = Uint8Array.of(P_HISTORY, tag);
    for (;;) {
      const [e] = await this.kv.entries(
        first ? { gte: cursor, lt: end, limit: 1 } : { gt: cursor, lt: end, limit: 1 },
      );
      if (e === undefined) break;
      first = false;
      const stateKey = e.key.slice(1, e.key.length - 8);
      const value = await this.valueAt(stateKey, height);
      if (value !== undefined) out.push({ key: stateKey, value });
      cursor = concat(Uint8Array.of(P_HISTORY), stateKey, U64_MAX_BYTES);
    }
    return out;
  }
}
