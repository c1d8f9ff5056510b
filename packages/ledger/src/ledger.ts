import { addressFromPublicKey, toHex, verify } from '@synod/crypto';
import type { KvStore } from '@synod/storage';
import {
  type AppInfo,
  type Application,
  BLOCK_TX_OVERHEAD_BYTES,
  type CheckTxKind,
  type CheckTxResult,
  type ConsensusParams,
  consensusParamsProblems,
  decodeConsensusParams,
  encodeConsensusParams,
  type FinalizeBlockRequest,
  type FinalizeBlockResponse,
  type InitChainRequest,
  type InitChainResponse,
  isValidChainId,
  LIMITS,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  type PrepareProposalRequest,
  type ProcessProposalRequest,
  type ProcessProposalVerdict,
  type QueryRequest,
  type QueryResponse,
  SynodError,
  type TxResult,
} from '@synod/types';
import { equalBytes, keyBytes, keyString, MAX_U64 } from './bytes.js';
import { trackDowntime } from './downtime.js';
import { parseLedgerAppState } from './genesis-state.js';
import { type ActiveValidator, LedgerState } from './ledger-state.js';
import { answerQuery, encodeQueryValue, type StateSource } from './query.js';
import {
  type Account,
  decodeAppParams,
  encodeAppParams,
  keys,
  type LedgerAppParams,
  newValidator,
  type SlashingRecord,
  type ValidatorRecord,
  type ValidatorSigningInfo,
} from './records.js';
import { SignatureCache } from './signature-cache.js';
import { type PunishmentEvent, punishMisbehavior, punishmentEvent } from './slashing.js';
import { SparseMerkleTree } from './sparse-merkle-tree.js';
import { POWER_REDUCTION, releaseUnbonding, updateValidatorSet } from './staking.js';
import { type StateChange, StateDb, type StateMeta } from './state-db.js';
import { CommittedState } from './state-store.js';
import { StatelessCache } from './stateless-cache.js';
import {
  checkTxAgainst,
  DEFAULT_MAX_NONCE_AHEAD,
  type ExecContext,
  executeTx,
  type TxOutcome,
} from './tx-exec.js';

/** Reported by `info().appVersion`. */
export const LEDGER_APP_VERSION = 'synod-ledger/1';

export interface LedgerOptions {
  /** Where the state lives (a LevelDB store in a node, a memory store in tests; a prefixed view is fine). */
  readonly kv: KvStore;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /**
   * How many recent heights `query` can answer for (older history is pruned).
   * Undefined: keep all history.
   */
  readonly historyBlocks?: number;
  /**
   * commit() asks the node to keep this many recent blocks (retainHeight =
   * height - retainBlocks + 1). Undefined: keep all (retainHeight 0).
   */
  readonly retainBlocks?: number;
  /** How far ahead of an account's next nonce checkTx accepts (default 64). */
  readonly maxNonceAhead?: number;
  /** Verified-signature cache entries (default 100,000; 0 disables). */
  readonly signatureCacheSize?: number;
  /**
   * Transactions whose stateless checks (decoding, sender, signature…) are
   * remembered, so a transaction is decoded once per node across checkTx, its
   * rechecks and the blocks that carry it (default 10,000, about 1 KB each for
   * a transfer; 0 disables).
   */
  readonly statelessCacheSize?: number;
  /**
   * The Ed25519 check of transaction signatures (default: @synod/crypto's
   * `verify`, ZIP-215). It must be that check, answered however is fastest:
   * the simulator runs many ledgers in one process and shares one cache of
   * verified signatures between them.
   */
  readonly verifySignature?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /** fsync each commit (default true). */
  readonly syncWrites?: boolean;
  /**
   * Runs at the start of every finalizeBlock, after committed misbehaviour is
   * punished and downtime is tracked, before the transactions: the place for
   * extra per-block rules. It must be deterministic and change state only
   * through `ctx.state`.
   */
  readonly beginBlock?: (ctx: BeginBlockContext) => void;
}

/** What a `beginBlock` hook gets. */
export interface BeginBlockContext {
  /** The block's state (writes become part of the block). */
  readonly state: LedgerState;
  readonly request: FinalizeBlockRequest;
  readonly params: ConsensusParams;
}

interface Pending {
  readonly height: number;
  readonly timeMs: number;
  readonly changes: readonly [string, Uint8Array | null][];
  readonly appHash: Uint8Array;
  readonly punishments: readonly PunishmentEvent[];
}

interface Loaded {
  readonly meta: StateMeta;
  readonly app: LedgerAppParams;
  readonly params: ConsensusParams;
}

/** A read view of the committed state for queries at the latest height. */
class MemorySource implements StateSource {
  constructor(private readonly state: CommittedState) {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.state.get(keyString(key));
  }

  async table(tag: number): Promise<{ key: Uint8Array; value: Uint8Array }[]> {
    return [...this.state.keysOf(tag)]
      .sort()
      .map((k) => ({ key: keyBytes(k), value: this.state.get(k) as Uint8Array }));
  }
}

/** A read view of the state after an older block, from the history in the store. */
class HistorySource implements StateSource {
  constructor(
    private readonly db: StateDb,
    private readonly height: number,
  ) {}

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.valueAt(key, this.height);
  }

  table(tag: number): Promise<{ key: Uint8Array; value: Uint8Array }[]> {
    return this.db.tableAt(tag, this.height);
  }
}

/** A sender's pending fees in the check state: by nonce, and their sum. */
interface SenderFees {
  readonly byNonce: Map<number, bigint>;
  total: bigint;
}

/**
 * The default application: accounts, transfers, self-bonded staking,
 * fees to the proposer, slashing hooks, a sparse-Merkle app hash and
 * queries by height. Implements `Application`. Open with `Ledger.open`.
 */
export class Ledger implements Application {
  private readonly db: StateDb;
  private readonly committed = new CommittedState();
  /** Version (height) of each committed key, for the history index. */
  private readonly versions = new Map<string, number>();
  private readonly tree = new SparseMerkleTree();
  private readonly signatures: SignatureCache;
  private readonly stateless: StatelessCache;
  private readonly logger: Logger;
  private readonly maxNonceAhead: number;
  private readonly txCounter;
  private readonly heightGauge;
  private readonly slashCounter;
  private loaded: Loaded | undefined;
  private pending: Pending | undefined;
  /**
   * The check state: fees of the transactions checkTx accepted since the last
   * commit, by sender and nonce (what the mempool holds, give or take an
   * eviction). Reset at commit; the mempool's recheck refills it.
   */
  private readonly checkFees = new Map<string, SenderFees>();
  private committedPunishments: readonly PunishmentEvent[] = [];
  private committing = false;

  private constructor(private readonly options: LedgerOptions) {
    this.db = new StateDb(options.kv);
    this.logger = (options.logger ?? noopLogger).child({ module: 'ledger' });
    this.signatures = new SignatureCache(options.signatureCacheSize ?? 100_000);
    this.stateless = new StatelessCache(options.statelessCacheSize ?? 10_000);
    this.maxNonceAhead = options.maxNonceAhead ?? DEFAULT_MAX_NONCE_AHEAD;
    const metrics = options.metrics ?? noopMetrics;
    this.txCounter = metrics.counter({
      name: 'synod_ledger_txs_total',
      help: 'Transactions finalized, by result code and stage',
      labelNames: ['code', 'stage'],
    });
    this.heightGauge = metrics.gauge({
      name: 'synod_ledger_height',
      help: 'Last height committed by the ledger',
    });
    this.slashCounter = metrics.counter({
      name: 'synod_ledger_slashes_total',
      help: 'Validators punished (slashed and jailed), by reason',
      labelNames: ['reason'],
    });
  }

  /**
   * Opens the ledger on `options.kv`: loads the latest committed state (if
   * any), rebuilds the app-hash tree and checks it against the stored app
   * hash (STORAGE_CORRUPT when they differ).
   */
  static async open(options: LedgerOptions): Promise<Ledger> {
    const ledger = new Ledger(options);
    await ledger.load();
    return ledger;
  }

  private async load(): Promise<void> {
    const meta = await this.db.readMeta();
    if (meta === undefined) return;
    for await (const e of this.db.latest()) {
      const k = keyString(e.key);
      this.committed.set(k, e.value);
      this.versions.set(k, e.version);
      this.tree.set(e.key, e.value);
    }
    const root = this.tree.rootHash();
    if (!equalBytes(root, meta.appHash)) {
      throw new SynodError('STORAGE_CORRUPT', 'ledger: the stored state does not match the stored app hash', {
        details: { height: meta.height, stored: toHex(meta.appHash), computed: toHex(root) },
      });
    }
    this.loaded = this.readParams(meta);
    this.heightGauge.set(this.lastBlockHeight());
    this.logger.info('ledger state loaded', {
      height: meta.height,
      keys: this.committed.size,
      appHash: toHex(root),
    });
  }

  private readParams(meta: StateMeta): Loaded {
    const app = this.committed.get(keys.appParams());
    const cp = this.committed.get(keys.consensusParams());
    if (app === undefined || cp === undefined) {
      throw new SynodError('STORAGE_CORRUPT', 'ledger: parameters missing from the state');
    }
    return { meta, app: decodeAppParams(app), params: decodeConsensusParams(cp) };
  }

  private need(): Loaded {
    if (this.loaded === undefined) throw new SynodError('INTERNAL', 'ledger: initChain has not run');
    return this.loaded;
  }

  /** Height of the last committed block (0 before the first block). */
  private lastBlockHeight(): number {
    const l = this.loaded;
    return l === undefined || l.meta.height < l.app.initialHeight ? 0 : l.meta.height;
  }

  private context(height: number, timeMs: number): ExecContext {
    const l = this.need();
    return {
      app: l.app,
      params: l.params,
      height,
      timeMs,
      signatures: this.signatures,
      verify: this.options.verifySignature ?? verify,
      stateless: this.stateless,
    };
  }

  // ---------------------------------------------------------------------------
  // Application

  async info(): Promise<AppInfo> {
    return {
      lastBlockHeight: this.lastBlockHeight(),
      lastBlockAppHash: this.loaded?.meta.appHash ?? new Uint8Array(0),
      appVersion: LEDGER_APP_VERSION,
    };
  }

  async initChain(req: InitChainRequest): Promise<InitChainResponse> {
    if (this.loaded !== undefined || this.pending !== undefined) {
      throw new SynodError('INTERNAL', 'ledger: initChain on an already initialized ledger');
    }
    const problems: string[] = [];
    if (!isValidChainId(req.chainId)) problems.push(`invalid chain id '${req.chainId}'`);
    if (!Number.isSafeInteger(req.initialHeight) || req.initialHeight < 1)
      problems.push('initialHeight must be ≥ 1');
    if (!Number.isSafeInteger(req.genesisTimeMs) || req.genesisTimeMs < 0)
      problems.push('invalid genesis time');
    problems.push(...consensusParamsProblems(req.consensusParams).map((p) => `consensusParams.${p}`));
    if (problems.length > 0) {
      throw new SynodError('GENESIS_INVALID', `genesis is invalid:\n- ${problems.join('\n- ')}`, {
        details: { problems },
      });
    }
    const g = parseLedgerAppState(req.appState);
    const app: LedgerAppParams = {
      chainId: req.chainId,
      minFee: g.minFee,
      maxTxBytes: g.maxTxBytes,
      initialHeight: req.initialHeight,
    };
    const params = req.consensusParams;
    const state = new LedgerState(this.committed);
    state.setRaw(keys.appParams(), encodeAppParams(app));
    state.setRaw(keys.consensusParams(), encodeConsensusParams(params));
    let supply = 0n;
    for (const a of g.accounts) {
      state.setAccount(a.address, { balance: a.balance, nonce: 0 });
      supply += a.balance;
    }
    const validators: ValidatorRecord[] =
      g.validators.length > 0
        ? g.validators.map((v) => ({ ...newValidator(v.pubKey, v.operator, 0n), bondedStake: v.stake }))
        : req.validators.map((v) => ({
            ...newValidator(v.pubKey, addressFromPublicKey(v.pubKey), 0n),
            bondedStake: BigInt(v.power) * POWER_REDUCTION,
          }));
    for (const v of validators) {
      if (state.validatorByAddress(v.address) !== undefined) {
        throw new SynodError(
          'GENESIS_INVALID',
          `two genesis validators share the address ${toHex(v.address)}`,
        );
      }
      state.setValidator(v);
      supply += v.bondedStake;
    }
    if (supply > MAX_U64)
      throw new SynodError('GENESIS_INVALID', 'total supply (balances + stakes) exceeds 2^64 - 1');
    const updates = updateValidatorSet(state, params);
    if (updates.length === 0)
      throw new SynodError('GENESIS_INVALID', 'no genesis validator has voting power');
    const version = req.initialHeight - 1;
    const appHash = this.applyToTree(state.changes());
    const meta: StateMeta = { height: version, timeMs: req.genesisTimeMs, historyFloor: version, appHash };
    await this.persist(version, state.changes(), meta);
    this.loaded = { meta, app, params };
    this.logger.info('ledger initialized from genesis', {
      chainId: req.chainId,
      accounts: g.accounts.length,
      validators: updates.length,
      appHash: toHex(appHash),
    });
    return { appHash, validators: updates };
  }

  async checkTx(tx: Uint8Array, kind: CheckTxKind): Promise<CheckTxResult> {
    const l = this.loaded;
    if (l === undefined) return { code: 'TX_INTERNAL_ERROR', log: 'ledger is not initialized' };
    let out: TxOutcome;
    try {
      const ctx = this.context(l.meta.height + 1, l.meta.timeMs);
      out = checkTxAgainst(new LedgerState(this.committed), tx, ctx, this.maxNonceAhead, (c) => {
        const fees = this.checkFees.get(c.senderHex);
        return fees === undefined ? 0n : fees.total - (fees.byNonce.get(c.tx.body.nonce) ?? 0n);
      });
    } catch (err) {
      this.logger.error('checkTx failed unexpectedly', { kind, err: String(err) });
      return { code: 'TX_INTERNAL_ERROR', log: 'internal error while checking the transaction' };
    }
    const c = out.checked;
    if (c === undefined) return { code: out.code, log: out.log };
    if (out.code === 'OK') {
      let fees = this.checkFees.get(c.senderHex);
      if (fees === undefined) {
        fees = { byNonce: new Map(), total: 0n };
        this.checkFees.set(c.senderHex, fees);
      }
      const { nonce, fee } = c.tx.body;
      fees.total += fee - (fees.byNonce.get(nonce) ?? 0n);
      fees.byNonce.set(nonce, fee);
    }
    return {
      code: out.code,
      log: out.log,
      sender: c.sender,
      nonce: c.tx.body.nonce,
      priority: c.tx.body.fee,
      gasWanted: c.tx.body.gasLimit,
    };
  }

  async prepareProposal(req: PrepareProposalRequest): Promise<{ readonly txs: readonly Uint8Array[] }> {
    const scratch = new LedgerState(this.committed);
    const ctx = this.context(req.height, req.timeMs);
    const maxBytes = Math.min(req.maxBytes, this.need().params.block.maxBytes);
    const maxGas = Math.min(req.maxGas, this.need().params.block.maxGas);
    const picked: Uint8Array[] = [];
    let bytes = 0;
    let gas = 0;
    for (const tx of req.txs) {
      if (picked.length >= LIMITS.blockTxsMax) break;
      const size = (tx instanceof Uint8Array ? tx.length : 0) + BLOCK_TX_OVERHEAD_BYTES;
      if (bytes + size > maxBytes) continue;
      const branch = scratch.branch();
      let out: TxOutcome;
      try {
        out = executeTx(branch, tx, ctx);
      } catch {
        continue;
      }
      if (out.stage !== 'ok' || out.checked === undefined) continue;
      const g = out.checked.tx.body.gasLimit;
      if (gas + g > maxGas) continue;
      branch.commitTo(scratch);
      picked.push(tx);
      bytes += size;
      gas += g;
    }
    return { txs: picked };
  }

  async processProposal(req: ProcessProposalRequest): Promise<ProcessProposalVerdict> {
    const reject = (reason: string): ProcessProposalVerdict => {
      this.logger.warn('rejecting proposal', { height: req.height, reason });
      return { reject: reason };
    };
    const l = this.loaded;
    if (l === undefined) return reject('the ledger has no state (initChain has not run)');
    if (req.txs.length > LIMITS.blockTxsMax) return reject('too many transactions');
    let bytes = 0;
    for (const tx of req.txs) bytes += (tx instanceof Uint8Array ? tx.length : 0) + BLOCK_TX_OVERHEAD_BYTES;
    if (bytes > l.params.block.maxBytes) return reject('transactions exceed block.maxBytes');
    const scratch = new LedgerState(this.committed);
    const ctx = this.context(req.height, req.timeMs);
    let gas = 0;
    try {
      for (const m of req.misbehavior) punishMisbehavior(scratch, m, l.params, req.height);
      for (let i = 0; i < req.txs.length; i++) {
        const branch = scratch.branch();
        const out = executeTx(branch, req.txs[i] as Uint8Array, ctx);
        if (out.stage === 'rejected') return reject(`tx ${i}: ${out.code}: ${out.log}`);
        gas += out.checked?.tx.body.gasLimit ?? 0;
        if (gas > l.params.block.maxGas) return reject('transactions exceed block.maxGas');
        branch.commitTo(scratch);
      }
    } catch (err) {
      return reject(`internal error: ${String(err)}`);
    }
    return 'accept';
  }

  async finalizeBlock(req: FinalizeBlockRequest): Promise<FinalizeBlockResponse> {
    const l = this.need();
    if (this.pending !== undefined) {
      throw new SynodError('INTERNAL', `ledger: block ${this.pending.height} is finalized but not committed`);
    }
    const expected = l.meta.height + 1;
    if (req.height !== expected) {
      throw new SynodError(
        'BLOCK_INVALID',
        `ledger: finalizeBlock for height ${req.height}, expected ${expected}`,
      );
    }
    if (!(req.proposerAddress instanceof Uint8Array) || req.proposerAddress.length !== 20) {
      throw new SynodError('BLOCK_INVALID', 'ledger: proposer address must be 20 bytes');
    }
    const block = new LedgerState(this.committed);
    const ctx = this.context(req.height, req.timeMs);
    const punishments: PunishmentEvent[] = [];
    for (const m of req.misbehavior) {
      const r = punishMisbehavior(block, m, l.params, req.height);
      const e = punishmentEvent(r, req.height, m.height);
      if (e !== undefined) punishments.push(e);
      else {
        this.logger.info('misbehaviour not punished', {
          height: req.height,
          kind: m.kind,
          validator: m.validatorAddress instanceof Uint8Array ? toHex(m.validatorAddress) : '',
          infractionHeight: m.height,
          skipped: r.skipped ?? '',
        });
      }
    }
    // Downtime: the commit of the previous block says who signed (there is none at the initial height).
    const votes = req.decidedLastCommit?.votes;
    if (req.height > l.app.initialHeight && Array.isArray(votes)) {
      for (const r of trackDowntime(block, req.decidedLastCommit, req.height, req.timeMs, l.params)) {
        const e = punishmentEvent(r, req.height);
        if (e !== undefined) punishments.push(e);
      }
    }
    for (const e of punishments) {
      this.slashCounter.inc({ reason: e.reason });
      this.logger.warn('validator punished', {
        height: e.height,
        validator: toHex(e.validator),
        reason: e.reason,
        slashAmount: e.slashAmount.toString(),
        burnedUnbonding: e.burnedUnbonding.toString(),
        jailUntilMs: e.jailUntilMs,
        tombstoned: e.tombstoned,
        ...(e.infractionHeight === undefined ? {} : { infractionHeight: e.infractionHeight }),
      });
    }
    this.options.beginBlock?.({ state: block, request: req, params: l.params });
    const txResults: TxResult[] = [];
    let fees = 0n;
    for (const tx of req.txs) {
      const branch = block.branch();
      let out: TxOutcome;
      try {
        out = executeTx(branch, tx, ctx);
      } catch (err) {
        this.logger.error('transaction execution failed unexpectedly', {
          height: req.height,
          err: String(err),
        });
        out = {
          stage: 'rejected',
          code: 'TX_INTERNAL_ERROR',
          log: 'internal error',
          gasUsed: 0,
          fee: 0n,
          events: [],
        };
      }
      if (out.stage !== 'rejected') {
        branch.commitTo(block);
        fees += out.fee;
      }
      this.txCounter.inc({ code: out.code, stage: out.stage });
      txResults.push({ code: out.code, log: out.log, gasUsed: out.gasUsed, events: out.events });
    }
    if (fees > 0n) {
      const recipient = block.validatorByAddress(req.proposerAddress)?.operator ?? req.proposerAddress;
      const a = block.account(recipient);
      block.setAccount(recipient, { balance: a.balance + fees, nonce: a.nonce });
    }
    const released = releaseUnbonding(block, req.height);
    // The set depends only on validator records (and the stored active set, which only this updates).
    const validatorUpdates = block.validatorsChanged() ? updateValidatorSet(block, l.params) : [];
    const changes = this.effectiveChanges(block.changes());
    const appHash = this.applyToTree(changes);
    this.pending = { height: req.height, timeMs: req.timeMs, changes, appHash, punishments };
    this.logger.debug('block finalized', {
      height: req.height,
      txs: req.txs.length,
      fees: fees.toString(),
      released: released.length,
      validatorUpdates: validatorUpdates.length,
      appHash: toHex(appHash),
    });
    return { txResults, validatorUpdates, appHash };
  }

  async commit(): Promise<{ readonly retainHeight: number }> {
    const l = this.need();
    const p = this.pending;
    if (p === undefined || this.committing)
      throw new SynodError('INTERNAL', 'ledger: commit without a finalized block');
    this.committing = true;
    try {
      const hb = this.options.historyBlocks;
      const floor = hb === undefined ? l.meta.historyFloor : Math.max(l.meta.historyFloor, p.height - hb + 1);
      const meta: StateMeta = { height: p.height, timeMs: p.timeMs, historyFloor: floor, appHash: p.appHash };
      await this.persist(p.height, p.changes, meta);
      this.loaded = { ...l, meta };
      this.pending = undefined;
      this.checkFees.clear();
      this.committedPunishments = p.punishments;
      if (floor > l.meta.historyFloor) await this.db.prune(floor);
    } finally {
      this.committing = false;
    }
    this.heightGauge.set(p.height);
    const rb = this.options.retainBlocks;
    return { retainHeight: rb === undefined ? 0 : Math.max(0, p.height - rb + 1) };
  }

  async query(req: QueryRequest): Promise<QueryResponse> {
    const l = this.loaded;
    const empty = new Uint8Array(0);
    if (l === undefined)
      return { code: 'QUERY_NOT_INITIALIZED', log: 'ledger is not initialized', height: 0, value: empty };
    const latest = l.meta.height;
    const h = req.height === undefined || req.height === 0 ? latest : req.height;
    if (!Number.isSafeInteger(h) || h < 0 || h > latest) {
      return {
        code: 'QUERY_HEIGHT_UNAVAILABLE',
        log: `height ${h} is not committed (latest ${latest})`,
        height: h,
        value: empty,
      };
    }
    if (h < l.meta.historyFloor) {
      const log = `height ${h} is pruned (history kept from ${l.meta.historyFloor})`;
      return { code: 'QUERY_HEIGHT_PRUNED', log, height: h, value: empty };
    }
    const data = req.data instanceof Uint8Array ? req.data : empty;
    const src: StateSource = h === latest ? new MemorySource(this.committed) : new HistorySource(this.db, h);
    try {
      const a = await answerQuery(src, req.path, data, h);
      return { code: a.code, log: a.log, height: h, value: encodeQueryValue(a.value) };
    } catch (err) {
      if (err instanceof SynodError && err.code === 'STORAGE_CLOSED') throw err;
      this.logger.error('query failed unexpectedly', { path: req.path, err: String(err) });
      return { code: 'QUERY_BAD_DATA', log: 'query failed', height: h, value: empty };
    }
  }

  // ---------------------------------------------------------------------------
  // Reads of the committed state (convenience for the node and tests)

  /** The committed account at `address` (zero balance, nonce 0 when absent). */
  account(address: Uint8Array): Account {
    return new LedgerState(this.committed).account(address);
  }

  /** The committed validator record of `pubKey`. */
  validator(pubKey: Uint8Array): ValidatorRecord | undefined {
    return new LedgerState(this.committed).validator(pubKey);
  }

  /**
   * Whether the validator at `address` is tombstoned in the committed state
   * (`Application.isTombstoned`: the node's evidence pool drops evidence
   * against it). False for an unknown address.
   */
  isTombstoned(address: Uint8Array): boolean {
    if (!(address instanceof Uint8Array) || address.length !== 20) return false;
    return new LedgerState(this.committed).validatorByAddress(address)?.tombstoned === true;
  }

  /** Every committed validator record, by public key. */
  validators(): ValidatorRecord[] {
    return new LedgerState(this.committed).validators();
  }

  /** The validator set last returned to consensus (committed), by public key. */
  validatorSet(): ActiveValidator[] {
    return new LedgerState(this.committed).activeSet();
  }

  /** The committed downtime window of the validator at `address` (undefined until it is first tracked). */
  signingInfo(address: Uint8Array): ValidatorSigningInfo | undefined {
    return new LedgerState(this.committed).signingInfo(address);
  }

  /** The committed punishment counters of the validator at `address` (undefined when never punished). */
  slashingRecord(address: Uint8Array): SlashingRecord | undefined {
    return new LedgerState(this.committed).slashingRecord(address);
  }

  /**
   * The punishments applied by the last committed block, in the order applied
   * (misbehaviour, then downtime). Memory only: empty after a restart until
   * the next block; the durable record is `slashingRecord` / the
   * `slashing/punished` query.
   */
  lastPunishments(): readonly PunishmentEvent[] {
    return this.committedPunishments;
  }

  /** Chain parameters (undefined before initChain). */
  parameters(): { readonly app: LedgerAppParams; readonly consensus: ConsensusParams } | undefined {
    return this.loaded === undefined ? undefined : { app: this.loaded.app, consensus: this.loaded.params };
  }

  // ---------------------------------------------------------------------------

  /** Drops writes that leave a key as it was (so they add no history). */
  private effectiveChanges(changes: readonly [string, Uint8Array | null][]): [string, Uint8Array | null][] {
    return changes.filter(([k, v]) => {
      const before = this.committed.get(k);
      if (v === null) return before !== undefined;
      return before === undefined || !equalBytes(before, v);
    });
  }

  private applyToTree(changes: readonly [string, Uint8Array | null][]): Uint8Array {
    for (const [k, v] of changes) {
      if (v === null) this.tree.delete(keyBytes(k));
      else this.tree.set(keyBytes(k), v);
    }
    return this.tree.rootHash();
  }

  private async persist(version: number, changes: readonly [string, Uint8Array | null][], meta: StateMeta) {
    const stateChanges: StateChange[] = changes.map(([k, v]) => ({
      key: keyBytes(k),
      value: v,
      previousVersion: this.versions.get(k),
    }));
    await this.db.commit(version, stateChanges, meta, this.options.syncWrites ?? true);
    for (const [k, v] of changes) {
      if (v === null) {
        this.committed.delete(k);
        this.versions.delete(k);
      } else {
        this.committed.set(k, v);
        this.versions.set(k, version);
      }
    }
  }
}
