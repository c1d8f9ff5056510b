import {
  type ConsensusParams,
  decodeConsensusParams,
  decodeValidatorSet,
  encodeConsensusParams,
  encodeValidatorSet,
  SynodError,
  type ValidatorSet,
} from '@synod/types';
import { concatBytes } from './bytes.js';
import { assertBytes } from './errors.js';
import { heightOfKey, KEY_PREFIX, keys, prefixSpan, readU64, u64 } from './keys.js';
import type { KvBatchOp, KvStore, KvWriteOptions } from './kv/kv-store.js';
import { PrefixedKvStore } from './kv/prefixed-kv-store.js';
import { decodeStored, ensureSchema } from './schema.js';

/**
 * Where the chain state stands after the last executed block: its height, and
 * what the next header must carry from it that cannot be recomputed without
 * re-executing it — the app hash after it and the hash of its transaction
 * results (@synod/types' `resultsHash`; 32 zero bytes at height 0).
 */
export interface StateInfo {
  readonly height: number;
  readonly appHash: Uint8Array;
  readonly lastResultsHash: Uint8Array;
}

const RESULTS_HASH_BYTES = 32;

export interface StateStoreOptions {
  /** fsync every committed state batch. @default true */
  readonly syncWrites?: boolean;
}

/**
 * A set of state writes committed as one atomic batch: application state
 * changes, validator sets and consensus params by height, and the state info.
 */
export class StateBatch {
  private readonly ops: KvBatchOp[] = [];
  private readonly appState: PrefixedKvStore;
  private readonly write: (
    ops: readonly KvBatchOp[],
    options: KvWriteOptions | undefined,
    sets: readonly (readonly [number, ValidatorSet])[],
  ) => Promise<void>;
  /** The validator sets put, by height (the store keeps them in its cache once written). */
  private readonly sets: [number, ValidatorSet][] = [];
  private committed = false;

  constructor(
    appState: PrefixedKvStore,
    write: (
      ops: readonly KvBatchOp[],
      options: KvWriteOptions | undefined,
      sets: readonly (readonly [number, ValidatorSet])[],
    ) => Promise<void>,
  ) {
    this.appState = appState;
    this.write = write;
  }

  putAppState(key: Uint8Array, value: Uint8Array): this {
    assertBytes(value, 'app state value');
    this.ops.push(...this.appState.batchOps([{ type: 'put', key, value }]));
    return this;
  }

  delAppState(key: Uint8Array): this {
    this.ops.push(...this.appState.batchOps([{ type: 'del', key }]));
    return this;
  }

  /** The validator set in effect from `height` until the next height that has one. */
  putValidatorSet(height: number, set: ValidatorSet): this {
    this.ops.push({ type: 'put', key: keys.validatorSet(height), value: encodeValidatorSet(set) });
    this.sets.push([height, set]);
    return this;
  }

  /** The consensus params in effect from `height` until the next height that has some. */
  putConsensusParams(height: number, params: ConsensusParams): this {
    this.ops.push({ type: 'put', key: keys.consensusParams(height), value: encodeConsensusParams(params) });
    return this;
  }

  putStateInfo(info: StateInfo): this {
    assertBytes(info.appHash, 'appHash');
    assertBytes(info.lastResultsHash, 'lastResultsHash');
    if (info.lastResultsHash.length !== RESULTS_HASH_BYTES)
      throw new SynodError('ENCODE_INVALID_VALUE', `lastResultsHash must be ${RESULTS_HASH_BYTES} bytes`);
    this.ops.push({
      type: 'put',
      key: keys.stateInfo,
      value: concatBytes(u64(info.height), info.lastResultsHash, info.appHash),
    });
    return this;
  }

  /** Number of operations collected. */
  get size(): number {
    return this.ops.length;
  }

  /** Writes everything collected in one atomic batch. A batch commits once. */
  async commit(options?: KvWriteOptions): Promise<void> {
    if (this.committed) throw new SynodError('INTERNAL', 'this state batch was already committed');
    this.committed = true;
    await this.write(this.ops, options, this.sets);
  }
}

/**
 * Application state (an opaque key space the application owns, `appState`),
 * validator sets and consensus params by height, and the state info. Sets and
 * params are stored at the heights where they change; a lookup returns the one
 * in effect at the asked height (the latest stored at or below it).
 */
/** Validator set lookups remembered (answers by asked height). */
const SET_CACHE_MAX = 256;

export class StateStore {
  /** The application's own key space (a prefixed view; its batches are atomic). */
  readonly appState: PrefixedKvStore;
  private readonly kv: KvStore;
  private readonly sync: boolean;
  /**
   * `loadValidatorSetEntry` answers by asked height, so that the per-block
   * lookups (gossip validation's window, metrics) do not each open a LevelDB
   * iterator: filled by lookups and by the sets this store writes; a write of
   * a set at H drops the answers for heights ≥ H, pruning drops them all.
   */
  private readonly setCache = new Map<number, { height: number; set: ValidatorSet }>();
  /** Bumped by every set write and prune, so that a lookup racing one is not remembered. */
  private setGeneration = 0;

  private constructor(kv: KvStore, options: StateStoreOptions) {
    this.kv = kv;
    this.sync = options.syncWrites ?? true;
    this.appState = new PrefixedKvStore(kv, keys.appStatePrefix);
  }

  static async open(kv: KvStore, options: StateStoreOptions = {}): Promise<StateStore> {
    await ensureSchema(kv);
    return new StateStore(kv, options);
  }

  /** A new atomic batch of state writes. */
  batch(): StateBatch {
    return new StateBatch(this.appState, async (ops, options, sets) => {
      for (const [h] of sets) this.forgetSetsFrom(h);
      await this.kv.batch(ops, { sync: options?.sync ?? this.sync });
      for (const [h, set] of sets) {
        this.forgetSetsFrom(h);
        this.rememberSet(h, { height: h, set });
      }
    });
  }

  private forgetSetsFrom(height: number): void {
    this.setGeneration++;
    for (const h of this.setCache.keys()) if (h >= height) this.setCache.delete(h);
  }

  private rememberSet(asked: number, entry: { height: number; set: ValidatorSet }): void {
    this.setCache.set(asked, entry);
    if (this.setCache.size > SET_CACHE_MAX) {
      const oldest = this.setCache.keys().next().value as number;
      this.setCache.delete(oldest);
    }
  }

  async saveValidatorSet(height: number, set: ValidatorSet): Promise<void> {
    return this.batch().putValidatorSet(height, set).commit();
  }

  async saveConsensusParams(height: number, params: ConsensusParams): Promise<void> {
    return this.batch().putConsensusParams(height, params).commit();
  }

  private async latestAtOrBelow(prefix: number, height: number): Promise<[number, Uint8Array] | undefined> {
    if (!Number.isSafeInteger(height) || height < 0) return undefined;
    const span = prefixSpan(prefix, 0, height + 1);
    const found = await this.kv.entries({ ...span, reverse: true, limit: 1 });
    const entry = found[0];
    return entry === undefined ? undefined : [heightOfKey(entry.key, 'state key'), entry.value];
  }

  /** The validator set in effect at `height`, and the height it was stored at. */
  async loadValidatorSetEntry(height: number): Promise<{ height: number; set: ValidatorSet } | undefined> {
    const cached = this.setCache.get(height);
    if (cached !== undefined) return cached;
    const generation = this.setGeneration;
    const found = await this.latestAtOrBelow(KEY_PREFIX.validatorSet, height);
    if (found === undefined) return undefined;
    const entry = {
      height: found[0],
      set: decodeStored(found[1], decodeValidatorSet, `validator set ${found[0]}`),
    };
    // Not remembered when a set was written or pruned meanwhile (the answer may be stale).
    if (generation === this.setGeneration) this.rememberSet(height, entry);
    return entry;
  }

  async loadValidatorSet(height: number): Promise<ValidatorSet | undefined> {
    return (await this.loadValidatorSetEntry(height))?.set;
  }

  async loadConsensusParams(height: number): Promise<ConsensusParams | undefined> {
    const found = await this.latestAtOrBelow(KEY_PREFIX.consensusParams, height);
    if (found === undefined) return undefined;
    return decodeStored(found[1], decodeConsensusParams, `consensus params ${found[0]}`);
  }

  async loadStateInfo(): Promise<StateInfo | undefined> {
    const bytes = await this.kv.get(keys.stateInfo);
    if (bytes === undefined) return undefined;
    if (bytes.length < 8 + RESULTS_HASH_BYTES)
      throw new SynodError('STORAGE_CORRUPT', 'state info: truncated value');
    return {
      height: readU64(bytes, 0, 'state info'),
      lastResultsHash: bytes.slice(8, 8 + RESULTS_HASH_BYTES),
      appHash: bytes.slice(8 + RESULTS_HASH_BYTES),
    };
  }

  /**
   * Deletes validator sets and consensus params that are no longer in effect
   * at any height >= `retainHeight` (the one in effect at `retainHeight` is
   * kept). Returns how many entries went.
   */
  async pruneHistory(retainHeight: number): Promise<number> {
    let removed = 0;
    this.forgetSetsFrom(0);
    for (const prefix of [KEY_PREFIX.validatorSet, KEY_PREFIX.consensusParams]) {
      const inEffect = await this.latestAtOrBelow(prefix, retainHeight);
      if (inEffect === undefined) continue;
      const old = await this.kv.entries(prefixSpan(prefix, 0, inEffect[0]));
      if (old.length === 0) continue;
      await this.kv.batch(
        old.map((e) => ({ type: 'del', key: e.key })),
        { sync: this.sync },
      );
      removed += old.length;
      await this.kv.compact(prefixSpan(prefix, 0, inEffect[0]));
    }
    this.forgetSetsFrom(0);
    return removed;
  }

  /** Approximate bytes the state store uses (application state included). */
  async diskUsage(): Promise<number> {
    let total = 0;
    for (const prefix of [
      KEY_PREFIX.appState,
      KEY_PREFIX.validatorSet,
      KEY_PREFIX.consensusParams,
      KEY_PREFIX.stateInfo,
    ]) {
      total += await this.kv.approximateSize(prefixSpan(prefix));
    }
    return total;
  }
}
