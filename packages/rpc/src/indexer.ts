/**
 * The RPC's own store, fed by the node's `block` events:
 *
 * - block results of every height (what `block_results` answers: each
 *   transaction's result, the validator updates, the app hash), kept
 *   whatever `[tx_index] indexer` says — CometBFT keeps them in its state
 *   store;
 * - with `indexer = "kv"`, the transaction index: hash → (height, index, tx,
 *   result), (height, index) → hash for `tx.height`, and every event
 *   attribute `type.key = value` → hash for `tx_search` (as CometBFT's kv
 *   indexer, which only indexes attributes flagged `index`: Synod's events
 *   have no flag, so every attribute is indexed).
 *
 * One atomic batch per block, which the node's write group makes part of
 * the height's batch (block, chain state, application state). Key layout (after the store's own prefix):
 *
 *   'R' u64 height                                   → block results (JSON; 0x00 ‖ app hash for an empty block)
 *   'T' hash(32)                                     → tx record (JSON)
 *   'H' u64 height u32 index                         → hash
 *   'E' u16 len key u32 len value u64 height u32 idx → hash
 *   'M'                                              → schema version
 *
 * Searches scan at most `SEARCH_SCAN_MAX` index entries per condition and
 * fail beyond (an RPC client cannot make the node scan without bound).
 */
import type { KvBatchOp, KvStore } from '@synod/storage';
import { bytesEqual, type ConsensusParams, SynodError, txHash } from '@synod/types';
import {
  b64,
  consensusParamsJson,
  gasWanted,
  hex,
  int64,
  type Json,
  type JsonObject,
  txResultJson,
} from './encode.js';
import type { EventMap, Query, QueryCondition } from './query.js';

/** Index entries one search condition may scan. */
export const SEARCH_SCAN_MAX = 100_000;
/** Attribute values longer than this are not indexed (not searchable). */
export const INDEXED_VALUE_MAX_BYTES = 1024;

const SCHEMA = Uint8Array.of(1);
const P = { results: 0x52, tx: 0x54, height: 0x48, event: 0x45, meta: 0x4d } as const;
const UTF8 = new TextEncoder();
const UTF8D = new TextDecoder();
/** UTF-8 bytes of `s` (Buffer's encoder: faster than TextEncoder's for long strings). */
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Writes `n` (a safe integer ≥ 0) big-endian into `out[at..at+8)`. */
function putU64(out: Uint8Array, at: number, n: number): void {
  putU32(out, at, Math.floor(n / 0x1_0000_0000));
  putU32(out, at + 4, n >>> 0);
}
/** Writes `n` big-endian into `out[at..at+4)`. */
function putU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}
function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  putU64(out, 0, n);
  return out;
}
function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  putU32(out, 0, n);
  return out;
}
function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
/** The first key after every key starting with `prefix`. */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if ((out[i] as number) < 0xff) {
      out[i] = (out[i] as number) + 1;
      return out.slice(0, i + 1);
    }
  }
  return concat(prefix, Uint8Array.of(0xff));
}
const readU64 = (b: Uint8Array, at: number): number =>
  Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at));
const readU32 = (b: Uint8Array, at: number): number =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);

function resultsKey(h: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = P.results;
  putU64(out, 1, h);
  return out;
}
function txKey(hash: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + hash.length);
  out[0] = P.tx;
  out.set(hash, 1);
  return out;
}
function heightKey(h: number, i: number): Uint8Array {
  const out = new Uint8Array(13);
  out[0] = P.height;
  putU64(out, 1, h);
  putU32(out, 9, i);
  return out;
}
function eventKeyPrefix(key: string, value?: string): Uint8Array {
  const k = UTF8.encode(key);
  const head = concat(Uint8Array.of(P.event), u32(k.length).subarray(2), k);
  if (value === undefined) return head;
  const v = UTF8.encode(value);
  return concat(head, u32(v.length), v);
}

/** `eventKeyPrefix(key)` of the attribute keys seen lately (a block's transactions share a handful). */
const eventHeads = new Map<string, Uint8Array>();
const EVENT_HEADS_MAX = 1024;

/**
 * The index key of one attribute value of transaction (`height`, `index`):
 * `eventKeyPrefix(key, value)` ‖ u64 height ‖ u32 index, made in one
 * allocation; undefined when the value is longer than INDEXED_VALUE_MAX_BYTES.
 */
function eventKey(key: string, value: string, height: number, index: number): Uint8Array | undefined {
  const valueBytes = Buffer.byteLength(value, 'utf8');
  if (valueBytes > INDEXED_VALUE_MAX_BYTES) return undefined;
  let head = eventHeads.get(key);
  if (head === undefined) {
    head = eventKeyPrefix(key);
    if (eventHeads.size >= EVENT_HEADS_MAX) eventHeads.clear();
    eventHeads.set(key, head);
  }
  const out = new Uint8Array(head.length + 4 + valueBytes + 12);
  out.set(head, 0);
  let at = head.length;
  putU32(out, at, valueBytes);
  at += 4;
  at += UTF8.encodeInto(value, out.subarray(at)).written;
  putU64(out, at, height);
  putU32(out, at + 8, index);
  return out;
}

/**
 * Block results as stored: the `block_results` JSON, or for a block with no
 * transactions, validator updates or parameter changes (an empty block)
 * `EMPTY_RESULTS` ‖ app hash — 33 bytes instead of ~200 of JSON, and no JSON
 * to build per empty block. JSON starts with `{`, so the two never collide.
 */
const EMPTY_RESULTS = 0x00;

function isEmptyBlock(block: IndexedBlock): boolean {
  return (
    block.txs.length === 0 &&
    block.txResults.length === 0 &&
    block.validatorUpdates.length === 0 &&
    block.consensusParamUpdates === undefined
  );
}

function encodeResults(block: IndexedBlock, results: JsonObject | undefined): Uint8Array {
  if (!isEmptyBlock(block)) return utf8(JSON.stringify(results ?? TxIndexer.resultsJson(block)));
  const out = new Uint8Array(1 + block.appHash.length);
  out[0] = EMPTY_RESULTS;
  out.set(block.appHash, 1);
  return out;
}

function decodeResults(height: number, bytes: Uint8Array): JsonObject {
  if (bytes[0] !== EMPTY_RESULTS) return JSON.parse(UTF8D.decode(bytes)) as JsonObject;
  return TxIndexer.resultsJson({
    height,
    txs: [],
    txResults: [],
    validatorUpdates: [],
    appHash: bytes.subarray(1),
  });
}

/** A block as the indexer takes it. */
export interface IndexedBlock {
  readonly height: number;
  readonly txs: readonly Uint8Array[];
  readonly txResults: readonly {
    readonly code: string;
    readonly log: string;
    readonly gasUsed: number;
    readonly events: readonly {
      readonly type: string;
      readonly attributes: Readonly<Record<string, string>>;
    }[];
  }[];
  /** Validator updates decided by the block, as CometBFT's `Validator` JSON objects are made from. */
  readonly validatorUpdates: readonly { readonly pubKey: Uint8Array; readonly power: number }[];
  /** Consensus parameters the block changed (`consensus_param_updates`), if any. */
  readonly consensusParamUpdates?: ConsensusParams;
  readonly appHash: Uint8Array;
}

/** A transaction as the index holds it. */
export interface IndexedTx {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly index: number;
  readonly tx: Uint8Array;
  /** The `ExecTxResult` JSON. */
  readonly result: JsonObject;
}

/** The events a transaction is found by (tx.hash, tx.height and every attribute), CometBFT's flattening. */
export function txEventMap(block: IndexedBlock, index: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const result = block.txResults[index];
  for (const e of result?.events ?? [])
    for (const [k, v] of Object.entries(e.attributes)) {
      const key = `${e.type}.${k}`;
      const values = out[key] ?? [];
      values.push(v);
      out[key] = values;
    }
  out['tm.event'] = ['Tx'];
  out['tx.hash'] = [hex(txHash(block.txs[index] as Uint8Array))];
  out['tx.height'] = [String(block.height)];
  return out;
}

export interface TxIndexerOptions {
  /** Index entries one search condition may scan. @default SEARCH_SCAN_MAX */
  readonly scanMax?: number;
}

export class TxIndexer {
  readonly #kv: KvStore;
  readonly #txIndex: boolean;
  readonly #scanMax: number;

  private constructor(kv: KvStore, txIndex: boolean, scanMax: number) {
    this.#kv = kv;
    this.#txIndex = txIndex;
    this.#scanMax = scanMax;
  }

  /** Opens the store (writes its schema version on first use; refuses another version). */
  static async open(kv: KvStore, indexer: 'kv' | 'null', options: TxIndexerOptions = {}): Promise<TxIndexer> {
    const key = Uint8Array.of(P.meta);
    const schema = await kv.get(key);
    if (schema === undefined) await kv.put(key, SCHEMA);
    else if (!bytesEqual(schema, SCHEMA))
      throw new SynodError('STORAGE_CORRUPT', `rpc store: schema version ${schema[0]} is not ${SCHEMA[0]}`);
    return new TxIndexer(kv, indexer === 'kv', options.scanMax ?? SEARCH_SCAN_MAX);
  }

  get enabled(): boolean {
    return this.#txIndex;
  }

  /** A block with no transactions, validator updates or parameter changes: its results are stored in 33 bytes, no JSON. */
  static isEmptyBlock(block: IndexedBlock): boolean {
    return isEmptyBlock(block);
  }

  /** The `block_results` JSON of a block (also what NewBlock's `result_finalize_block` carries). */
  static resultsJson(block: IndexedBlock): JsonObject {
    return {
      height: int64(block.height),
      txs_results: block.txResults.map((r, i) => txResultJson(r, gasWanted(block.txs[i] as Uint8Array))),
      finalize_block_events: [],
      validator_updates: block.validatorUpdates.map(
        // ABCI's ValidatorUpdate as cmtjson writes it (the key is a protobuf oneof).
        (u) =>
          ({
            pub_key: {
              Sum: { type: 'tendermint.crypto.PublicKey_Ed25519', value: { ed25519: b64(u.pubKey) } },
            },
            power: int64(u.power),
          }) as Json,
      ),
      consensus_param_updates:
        block.consensusParamUpdates === undefined ? null : consensusParamsJson(block.consensusParamUpdates),
      app_hash: b64(block.appHash),
    };
  }

  /**
   * Writes a block's results and (kv indexer) its transactions, in one batch.
   * The operations are made before the first `await`, so a caller inside a
   * write group (`NodeStorage.writeGroup`) gets them into the group's batch.
   * `results`, when given, is the block's `resultsJson` (the server makes it
   * once for the index and the block's events); each transaction's record
   * holds its entry of `txs_results`.
   */
  async index(block: IndexedBlock, results?: JsonObject): Promise<void> {
    const json = isEmptyBlock(block) ? undefined : (results ?? TxIndexer.resultsJson(block));
    const ops: KvBatchOp[] = [
      { type: 'put', key: resultsKey(block.height), value: encodeResults(block, json) },
    ];
    if (this.#txIndex && json !== undefined) {
      const txResults = json.txs_results as readonly Json[];
      block.txs.forEach((tx, index) => {
        const r = block.txResults[index];
        if (r === undefined) return;
        const hash = txHash(tx);
        const record = { height: block.height, index, tx: b64(tx), result: txResults[index] ?? null };
        ops.push({ type: 'put', key: txKey(hash), value: utf8(JSON.stringify(record)) });
        ops.push({ type: 'put', key: heightKey(block.height, index), value: hash });
        for (const e of r.events)
          for (const k in e.attributes) {
            const key = eventKey(`${e.type}.${k}`, e.attributes[k] as string, block.height, index);
            if (key !== undefined) ops.push({ type: 'put', key, value: hash });
          }
      });
    }
    await this.#kv.batch(ops);
  }

  /** The stored `block_results` JSON of `height`, or undefined. */
  async results(height: number): Promise<JsonObject | undefined> {
    const bytes = await this.#kv.get(resultsKey(height));
    return bytes === undefined ? undefined : decodeResults(height, bytes);
  }

  /** The indexed transaction with this hash. */
  async get(hash: Uint8Array): Promise<IndexedTx | undefined> {
    if (hash.length !== 32) return undefined;
    const bytes = await this.#kv.get(txKey(hash));
    if (bytes === undefined) return undefined;
    const r = JSON.parse(UTF8D.decode(bytes)) as {
      height: number;
      index: number;
      tx: string;
      result: JsonObject;
    };
    return { hash, height: r.height, index: r.index, tx: Buffer.from(r.tx, 'base64'), result: r.result };
  }

  async #scan(
    gte: Uint8Array,
    lt: Uint8Array,
    visit: (key: Uint8Array, value: Uint8Array) => void,
    what: string,
  ): Promise<void> {
    let n = 0;
    for await (const { key, value } of this.#kv.iterate({ gte, lt })) {
      if (++n > this.#scanMax)
        throw new SynodError(
          'INTERNAL',
          `${what} matches more than ${this.#scanMax} index entries: add conditions to narrow the query`,
        );
      visit(key, value);
    }
  }

  /** Positions `height:index` → hash of the transactions meeting one condition, or undefined for "any". */
  async #candidates(c: QueryCondition): Promise<Map<string, Uint8Array> | undefined> {
    const out = new Map<string, Uint8Array>();
    const pos = (h: number, i: number): string => `${h}:${i}`;
    if (c.tag === 'tm.event') return c.test('Tx') ? undefined : out;
    if (c.tag === 'tx.hash') {
      if (c.op === '=' && c.arg?.type === 'string' && /^[0-9a-fA-F]{64}$/.test(c.arg.text)) {
        const hash = Uint8Array.from(Buffer.from(c.arg.text, 'hex'));
        const t = await this.get(hash);
        if (t !== undefined) out.set(pos(t.height, t.index), hash);
        return out;
      }
      // Any other condition on the hash: every transaction is a candidate, tested by its hash.
      await this.#scan(
        Uint8Array.of(P.height),
        Uint8Array.of(P.height + 1),
        (key, value) => {
          if (c.test(hex(value))) out.set(pos(readU64(key, 1), readU32(key, 9)), value);
        },
        'tx.hash',
      );
      return out;
    }
    if (c.tag === 'tx.height') {
      let from = 0;
      let to = Number.MAX_SAFE_INTEGER;
      if (c.arg?.type === 'number' && /^\d+$/.test(c.arg.text)) {
        const n = Number(c.arg.text);
        if (c.op === '=') [from, to] = [n, n];
        else if (c.op === '<') to = n - 1;
        else if (c.op === '<=') to = n;
        else if (c.op === '>') from = n + 1;
        else if (c.op === '>=') from = n;
      }
      if (from > to) return out;
      await this.#scan(
        concat(Uint8Array.of(P.height), u64(Math.max(0, from))),
        concat(Uint8Array.of(P.height), u64(Math.min(to, Number.MAX_SAFE_INTEGER - 1) + 1)),
        (key, value) => {
          const h = readU64(key, 1);
          if (c.test(String(h))) out.set(pos(h, readU32(key, 9)), value);
        },
        'tx.height',
      );
      return out;
    }
    // An event attribute: an exact string match reads one value's range, anything else every value's.
    const exact = c.op === '=' && c.arg?.type === 'string' ? c.arg.text : undefined;
    const prefix = eventKeyPrefix(c.tag, exact);
    const head = eventKeyPrefix(c.tag).length;
    await this.#scan(
      prefix,
      prefixEnd(prefix),
      (key, value) => {
        const vlen = readU32(key, head);
        const v = UTF8D.decode(key.subarray(head + 4, head + 4 + vlen));
        if (!c.test(v)) return;
        const at = head + 4 + vlen;
        out.set(pos(readU64(key, at), readU32(key, at + 8)), value);
      },
      c.tag,
    );
    return out;
  }

  /** Every indexed transaction meeting `query`, by (height, index). */
  async search(query: Query): Promise<IndexedTx[]> {
    let found: Map<string, Uint8Array> | undefined;
    for (const c of query.conditions) {
      const cand = await this.#candidates(c);
      if (cand === undefined) continue;
      if (found === undefined) found = cand;
      else for (const k of [...found.keys()]) if (!cand.has(k)) found.delete(k);
      if (found.size === 0) return [];
    }
    if (found === undefined) {
      // No condition narrowed the search (only tm.event = 'Tx'): every transaction.
      found = new Map();
      const all = found;
      await this.#scan(
        Uint8Array.of(P.height),
        Uint8Array.of(P.height + 1),
        (key, value) => {
          all.set(`${readU64(key, 1)}:${readU32(key, 9)}`, value);
        },
        'the query',
      );
    }
    const out: IndexedTx[] = [];
    for (const hash of found.values()) {
      const t = await this.get(hash);
      if (t !== undefined) out.push(t);
    }
    return out.sort((a, b) => a.height - b.height || a.index - b.index);
  }

  /**
   * Heights of stored block results meeting `query` (`block.height`
   * conditions; Synod blocks have no block-level events, so any other
   * condition but `tm.event = 'NewBlock'` matches nothing).
   */
  async searchBlocks(query: Query): Promise<number[]> {
    const conds = query.conditions.filter((c) => !(c.tag === 'tm.event' && c.test('NewBlock')));
    if (conds.some((c) => c.tag !== 'block.height')) return [];
    const out: number[] = [];
    await this.#scan(
      Uint8Array.of(P.results),
      Uint8Array.of(P.results + 1),
      (key) => {
        const h = readU64(key, 1);
        const events: EventMap = { 'block.height': [String(h)] };
        if (conds.every((c) => (events[c.tag] ?? []).some((v) => c.test(v)))) out.push(h);
      },
      'block_search',
    );
    return out;
  }
}
