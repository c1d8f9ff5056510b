/**
 * The chain state: what the node knows about the chain after its last
 * executed block H — the validator sets of H, H + 1 and H + 2 (with their
 * proposer priorities), the last block's hash and time, the app hash and
 * results hash the next header must carry, and the consensus params —
 * persisted in @synod/storage's state store (sets and params by height, state
 * info) so that a restart resumes from it.
 *
 * Write of a block H (see `record`): one atomic state batch (set of H + 2,
 * params when they change, state info H with its app and results hashes);
 * the caller commits the application after it. So after a crash the state
 * store is at most one block ahead of the application and at most one block
 * behind the block store, and the handshake closes both gaps by replay.
 */
import { advanceValidatorSet } from '@synod/consensus';
import { addressFromPublicKey, toHex } from '@synod/crypto';
import type { EvidenceContext } from '@synod/fault-detector';
import type { NodeStorage } from '@synod/storage';
import {
  type Block,
  blockHash,
  type ConsensusParams,
  consensusParamsHash,
  type EvidenceChainView,
  type FinalizeBlockResponse,
  type Genesis,
  genesisValidatorSet,
  headerHash,
  makeValidatorSet,
  resultsHash,
  SynodError,
  type Validator,
  type ValidatorSet,
  type ValidatorUpdate,
  validatorSetHash,
  ZERO_HASH,
} from '@synod/types';
import type { VerifySignature } from './config.js';

/** What the chain looks like after the last executed block. */
export interface ChainSnapshot {
  /** Last executed height (0 before the first block). */
  readonly height: number;
  /** Hash of that block (ZERO_HASH at 0). */
  readonly lastBlockHash: Uint8Array;
  /** Its block time (the genesis time at 0). */
  readonly lastBlockTimeMs: number;
  /** App hash after it: the next header's `appHash`. */
  readonly appHash: Uint8Array;
  /** Results hash of it: the next header's `lastResultsHash` (ZERO_HASH at 0). */
  readonly lastResultsHash: Uint8Array;
  /** Consensus params of the next height. */
  readonly params: ConsensusParams;
}

/** Validator set hashes, once per set object (sets are values: never changed once made). */
const setHashes = new WeakMap<ValidatorSet, Uint8Array>();

export function cachedSetHash(set: ValidatorSet): Uint8Array {
  let h = setHashes.get(set);
  if (h === undefined) {
    h = validatorSetHash(set);
    setHashes.set(set, h);
  }
  return h;
}

/** A validator set from the application's updates (priorities 0: the set's first). */
export function setFromUpdates(updates: readonly ValidatorUpdate[]): ValidatorSet {
  return makeValidatorSet(updates.map(validatorFromUpdate));
}

function validatorFromUpdate(u: ValidatorUpdate): Validator {
  return {
    address: addressFromPublicKey(u.pubKey),
    pubKey: u.pubKey,
    votingPower: u.power,
    proposerPriority: 0n,
  };
}

export class ChainState {
  readonly #storage: NodeStorage;
  readonly #genesis: Genesis;
  readonly #timesCacheHeights: number;
  #snapshot: ChainSnapshot;
  /** Validator sets of heights H .. H + 2 (1 and 2 at H = 0). */
  #sets = new Map<number, ValidatorSet>();
  /** Block times of recent heights (for evidence checks), bounded by `timesCacheHeights`. */
  readonly #times = new Map<number, number>();
  #paramsHash: Uint8Array;

  private constructor(
    storage: NodeStorage,
    genesis: Genesis,
    timesCacheHeights: number,
    snapshot: ChainSnapshot,
    sets: Map<number, ValidatorSet>,
  ) {
    this.#storage = storage;
    this.#genesis = genesis;
    this.#timesCacheHeights = timesCacheHeights;
    this.#snapshot = snapshot;
    this.#sets = sets;
    this.#paramsHash = consensusParamsHash(snapshot.params);
    this.#times.set(0, genesis.genesisTimeMs);
    this.#times.set(snapshot.height, snapshot.lastBlockTimeMs);
  }

  /** The chain state recorded in `storage`, or undefined when the node has none yet (a new node). */
  static async load(
    storage: NodeStorage,
    genesis: Genesis,
    timesCacheHeights: number,
  ): Promise<ChainState | undefined> {
    const info = await storage.state.loadStateInfo();
    if (info === undefined) return undefined;
    const h = info.height;
    const sets = new Map<number, ValidatorSet>();
    for (let k = Math.max(h, 1); k <= h + 2; k++) {
      const set = await storage.state.loadValidatorSet(k);
      if (set === undefined)
        throw new SynodError('STORAGE_CORRUPT', `chain state: no validator set for height ${k}`);
      sets.set(k, set);
    }
    const params = await storage.state.loadConsensusParams(h + 1);
    if (params === undefined)
      throw new SynodError('STORAGE_CORRUPT', `chain state: no consensus params for height ${h + 1}`);
    let lastBlockHash = ZERO_HASH;
    let lastBlockTimeMs = genesis.genesisTimeMs;
    if (h > 0) {
      const header = await storage.blocks.loadHeader(h);
      if (header === undefined)
        throw new SynodError('STORAGE_CORRUPT', `chain state: block ${h} is not in the block store`);
      lastBlockHash = headerHash(header);
      lastBlockTimeMs = header.timeMs;
    }
    const snapshot = {
      height: h,
      lastBlockHash,
      lastBlockTimeMs,
      appHash: info.appHash,
      lastResultsHash: info.lastResultsHash,
      params,
    };
    const chain = new ChainState(storage, genesis, timesCacheHeights, snapshot, sets);
    // The block times of recent heights, so that evidence of them can be judged without I/O.
    for (let k = Math.max(1, h - timesCacheHeights + 1); k < h; k++) {
      const t = (await storage.blocks.loadHeader(k))?.timeMs;
      if (t !== undefined) chain.#times.set(k, t);
    }
    return chain;
  }

  /**
   * The chain state of a new chain, recorded in `storage`: the set of height 1
   * (the validators initChain returned, or the genesis ones), the set of
   * height 2 (the same, advanced once: no change takes effect there), the
   * genesis params, state info (0, the genesis app hash).
   */
  static async initialize(
    storage: NodeStorage,
    genesis: Genesis,
    timesCacheHeights: number,
    init: { readonly appHash: Uint8Array; readonly validators?: readonly ValidatorUpdate[] },
  ): Promise<ChainState> {
    const first =
      init.validators !== undefined && init.validators.length > 0
        ? setFromUpdates(init.validators)
        : genesisValidatorSet(genesis);
    const second: ValidatorSet = { validators: advanceValidatorSet(first.validators) };
    await storage.state
      .batch()
      .putValidatorSet(1, first)
      .putValidatorSet(2, second)
      .putConsensusParams(1, genesis.consensusParams)
      .putStateInfo({ height: 0, appHash: init.appHash, lastResultsHash: ZERO_HASH })
      .commit();
    const snapshot: ChainSnapshot = {
      height: 0,
      lastBlockHash: ZERO_HASH,
      lastBlockTimeMs: genesis.genesisTimeMs,
      appHash: init.appHash,
      lastResultsHash: ZERO_HASH,
      params: genesis.consensusParams,
    };
    return new ChainState(
      storage,
      genesis,
      timesCacheHeights,
      snapshot,
      new Map([
        [1, first],
        [2, second],
      ]),
    );
  }

  get snapshot(): ChainSnapshot {
    return this.#snapshot;
  }

  get height(): number {
    return this.#snapshot.height;
  }

  get chainId(): string {
    return this.#genesis.chainId;
  }

  /** Hash of the consensus params of the next height. */
  get paramsHash(): Uint8Array {
    return this.#paramsHash;
  }

  /** The validator set of `height`, for H ≤ height ≤ H + 2; undefined outside. */
  setAt(height: number): ValidatorSet | undefined {
    return this.#sets.get(height);
  }

  /** The validator set of any recorded height (older ones from the state store). */
  async loadSetAt(height: number): Promise<ValidatorSet | undefined> {
    if (!Number.isSafeInteger(height) || height < 1 || height > this.height + 2) return undefined;
    return this.#sets.get(height) ?? (await this.#storage.state.loadValidatorSet(height));
  }

  /** Block time of an executed height (0: genesis time), from memory or the block store. */
  async loadBlockTimeAt(height: number): Promise<number | undefined> {
    if (!Number.isSafeInteger(height) || height < 0 || height > this.height) return undefined;
    const known = this.#times.get(height);
    if (known !== undefined) return known;
    return (await this.#storage.blocks.loadHeader(height))?.timeMs;
  }

  /**
   * The chain as @synod/fault-detector sees it, able to answer for the
   * heights in `heights` (loaded first: its lookups are synchronous) and for
   * the recent heights kept in memory. Evidence verification thus never
   * depends on how much this node caches.
   */
  async evidenceContext(
    heights: Iterable<number>,
    verifySignature: VerifySignature,
  ): Promise<EvidenceContext> {
    const sets = new Map<number, ValidatorSet>(this.#sets);
    const times = new Map<number, number>();
    for (const h of heights) {
      if (sets.has(h) && times.has(h)) continue;
      const set = await this.loadSetAt(h);
      const time = await this.loadBlockTimeAt(h);
      if (set !== undefined) sets.set(h, set);
      if (time !== undefined) times.set(h, time);
    }
    const s = this.#snapshot;
    const known = (h: number): boolean => Number.isSafeInteger(h) && h >= 1 && h <= s.height;
    return {
      chainId: this.#genesis.chainId,
      height: s.height,
      timeMs: s.lastBlockTimeMs,
      params: s.params,
      validatorSetAt: (h) => (known(h) ? sets.get(h) : undefined),
      blockTimeAt: (h) => (known(h) ? (times.get(h) ?? this.#times.get(h)) : undefined),
      verifySignature,
    };
  }

  /**
   * The committed chain for evidence's height and time rules, synchronously:
   * block times of the heights kept in memory (the last
   * `timesCacheHeights`), undefined for older ones. Always the current
   * state (the getters read it at each call).
   */
  evidenceChainView(): EvidenceChainView {
    const snapshot = (): ChainSnapshot => this.#snapshot;
    return {
      get height() {
        return snapshot().height;
      },
      get timeMs() {
        return snapshot().lastBlockTimeMs;
      },
      get params() {
        return snapshot().params;
      },
      blockTimeAt: (h) =>
        Number.isSafeInteger(h) && h >= 0 && h <= this.#snapshot.height ? this.#times.get(h) : undefined,
    };
  }

  /**
   * Records block H = height + 1 executed with `response`: the set of H + 2
   * (the set of H + 1 advanced once, with the updates decided at H), the
   * params of H + 1 when they changed, the state info (height, app hash and
   * results hash), as one atomic state batch. The application is committed
   * by the caller after this.
   */
  async record(block: Block, response: FinalizeBlockResponse): Promise<void> {
    const s = this.#snapshot;
    const h = block.header.height;
    if (h !== s.height + 1)
      throw new SynodError('INTERNAL', `chain state: recording height ${h}, expected ${s.height + 1}`);
    const next = this.#sets.get(h + 1) as ValidatorSet;
    const changes = response.validatorUpdates.map(validatorFromUpdate);
    const afterNext: ValidatorSet = { validators: advanceValidatorSet(next.validators, changes) };
    const results = resultsHash(response.txResults);
    const params = response.consensusParamUpdates ?? s.params;
    const batch = this.#storage.state
      .batch()
      .putValidatorSet(h + 2, afterNext)
      .putStateInfo({ height: h, appHash: response.appHash, lastResultsHash: results });
    // Params decided at H apply from H + 1 (the header of H + 1 carries their hash).
    if (response.consensusParamUpdates !== undefined) batch.putConsensusParams(h + 1, params);
    await batch.commit();
    this.#sets.delete(h - 1);
    this.#sets.set(h + 2, afterNext);
    this.#times.set(h, block.header.timeMs);
    this.#times.delete(h - this.#timesCacheHeights);
    if (response.consensusParamUpdates !== undefined) this.#paramsHash = consensusParamsHash(params);
    this.#snapshot = {
      height: h,
      lastBlockHash: blockHash(block),
      lastBlockTimeMs: block.header.timeMs,
      appHash: response.appHash,
      lastResultsHash: results,
      params,
    };
  }

  /** For logs. */
  describe(): Record<string, unknown> {
    const s = this.#snapshot;
    return { height: s.height, appHash: toHex(s.appHash), lastBlockHash: toHex(s.lastBlockHash) };
  }
}
