/**
 * `createNode(components, init)`: one node — consensus engine, block
 * executor, chain state, handshake, block sync, gossip and the commit
 * monitor — over its ports. The daemon and the simulator both run it.
 *
 * Start order (each step needs the ones before it):
 *   1. handshake: chain state loaded (or initChain for a new node), the
 *      application brought to the block store's height;
 *   2. mempool and evidence pool (pending evidence reloaded from the
 *      evidence store);
 *   3. the transport's gossip validation given the node's view of the chain
 *      (`attachValidation`), and serving the sync protocols (status,
 *      block-by-hash, block-range);
 *   4. block sync, when a peer is `syncLagHeights` or more ahead;
 *   5. the consensus engine (WAL replay) at the next height;
 *   6. gossip subscriptions (proposals, votes, evidence, txs).
 * Stop runs the reverse: gossip off, engine stopped (work in progress
 * finished), sync protocols off, the validation view detached. The storage and the transport belong to
 * the host, which closes them after `stop()`. A `stop()` while `start()`
 * runs ends the start at its next step or block boundary (handshake replay,
 * block sync): what was started is undone, the blocks executed so far stay
 * stored, `start()` resolves with the node stopped and `stop()` once it is.
 */
import {
  type ConflictingCommits,
  type ConsensusApplication,
  ConsensusEngine,
  type ConsensusNetwork,
  type EngineStatus,
  ProposerSchedule,
} from '@synod/consensus';
import { createVerifyCache, toHex } from '@synod/crypto';
import { ConflictingCommitDetector, EvidencePool } from '@synod/fault-detector';
import { type AddResult, Mempool, type MempoolTx } from '@synod/mempool';
import {
  type Block,
  blockHash,
  type Commit,
  commitProblem,
  EMPTY_COMMIT,
  type Evidence,
  evidenceHeight,
  type FinalizeBlockResponse,
  type QueryRequest,
  type QueryResponse,
  type SignedProposal,
  type SignedVote,
  SynodError,
  type ValidatorSet,
  ZERO_HASH,
} from '@synod/types';
import { BlockExecutor } from './block-executor.js';
import type { ChainState } from './chain-state.js';
import {
  type NodeComponents,
  type NodeInit,
  type ResolvedComponents,
  type ResolvedInit,
  resolveComponents,
  resolveInit,
  TX_LOCAL_TRACKED_MAX,
  TX_REGOSSIP_MAX,
} from './config.js';
import { type BlockDecidedEvent, type NodeEventName, type NodeEvents, TypedEmitter } from './events.js';
import { handshake } from './handshake.js';
import type {
  BlockWithCommit,
  ChainStatus,
  ConsensusReply,
  GossipValidationView,
  NodeMessages,
  NodeTopic,
  Received,
  SyncProvider,
} from './transport.js';

export interface NodeStatus {
  /** 'stopped' before start and after stop; 'syncing' during block sync; 'running' with consensus. */
  readonly state: 'stopped' | 'starting' | 'syncing' | 'running' | 'halted';
  readonly chainId: string;
  /** Last executed height and what it left. */
  readonly height: number;
  readonly lastBlockHash: string;
  readonly lastBlockTimeMs: number;
  readonly appHash: string;
  /** The engine's position (height being decided, round, step), when it runs. */
  readonly consensus: EngineStatus | undefined;
  /** This node's validator address, or undefined for a follower. */
  readonly validator: string | undefined;
  readonly mempoolTxs: number;
  /** Bytes of the pending transactions. */
  readonly mempoolBytes: number;
  readonly evidencePending: number;
  readonly peers: number;
  /** Why the node stopped producing blocks, when it did (the engine halted or a security alert). */
  readonly halted: string | undefined;
}

/** What a decided block's event needs besides the block (kept until the `block` event is emitted). */
interface Running {
  readonly chain: ChainState;
  readonly executor: BlockExecutor;
  readonly mempool: Mempool;
  readonly evidencePool: EvidencePool;
  readonly monitor: ConflictingCommitDetector;
  engine: ConsensusEngine | undefined;
  readonly stops: (() => void | Promise<void>)[];
  /**
   * Blocks of heights not yet decided, by hex hash (to answer block-by-hash),
   * oldest first: our own proposals and the blocks the engine found valid.
   */
  readonly recentBlocks: Map<string, Block>;
  /** The last height whose decided block and commit, pulled from a peer, did not make the engine decide. */
  undecidedPull: number;
  /**
   * Transactions submitted to this node (`broadcastTx`) and accepted, by hex hash: the pool's
   * height then, oldest first. Only these are gossiped again (`txRegossipHeights`): every node
   * holding a transaction re-gossiping it would send it N times over. At most TX_LOCAL_TRACKED_MAX.
   */
  readonly localTxs: Map<string, number>;
}

/**
 * Most liveness pulls in flight at once (one per peer): a peer that does not
 * answer holds one of them until its request times out, not the node.
 */
const LIVENESS_PULLS_MAX = 3;

/**
 * How long a block sync pass waits for the other peers' status once one has
 * answered (see #answersOrGrace).
 */
const STATUS_GRACE_MS = 500;

/** Thrown inside `#start` when a stop was asked: the start unwinds (caught by `start()`). */
class StartStopped extends Error {}

export class SynodNode {
  readonly #c: ResolvedComponents;
  readonly #init: ResolvedInit;
  readonly #events: TypedEmitter<NodeEvents>;
  /** Blocks executed in the open write group, announced (`block`) once it is written. */
  #written: BlockDecidedEvent[] = [];
  /** Write groups open (a nested one joins the outer: only the outer announces). */
  #groupDepth = 0;
  #state: NodeStatus['state'] = 'stopped';
  #running: Running | undefined;
  /** The chain state of the last start (kept after stop for `status()`). */
  #chain: ChainState | undefined;
  #halted: string | undefined;
  /** The security alert was raised during this start. */
  #alerted = false;
  #haltEmitted = false;
  /** The start in progress (undone on failure or on a stop), awaited by `stop()`. */
  #starting: Promise<void> | undefined;
  /** `stop()` was called during the start in progress: it ends at its next step or block. */
  #stopAsked = false;
  /** Waits on peers during a start, woken by `stop()` (each removed when its wait ends). */
  readonly #stopWaiters = new Set<() => void>();

  constructor(components: NodeComponents, init: NodeInit) {
    // Without a verifier from the host, one with a memory of accepted signatures: a vote the engine
    // verified is not verified again in the next block's last commit.
    this.#c = resolveComponents(components, createVerifyCache().verify);
    this.#init = resolveInit(init);
    this.#events = new TypedEmitter((err) =>
      this.#c.logger.error('node event listener failed', { error: (err as Error).message }),
    );
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends NodeEventName>(name: K, listener: (event: NodeEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.#state !== 'stopped') throw new SynodError('INTERNAL', `node: start while ${this.#state}`);
    this.#state = 'starting';
    this.#halted = undefined;
    this.#alerted = false;
    this.#haltEmitted = false;
    this.#stopAsked = false;
    const starting = this.#startOrUndo();
    this.#starting = starting;
    try {
      await starting;
    } finally {
      this.#starting = undefined;
    }
  }

  /** `#start`, undone when it fails (rethrown) or when a stop was asked (resolves, stopped). */
  async #startOrUndo(): Promise<void> {
    try {
      await this.#start();
      this.#stopPoint();
    } catch (err) {
      await this.#stopRunning();
      this.#state = 'stopped';
      if (err instanceof StartStopped) {
        this.#c.logger.info('node start stopped', { event: 'start_stopped', height: this.#chain?.height });
        return;
      }
      throw err;
    }
  }

  /**
   * `p`, or undefined as soon as a stop is asked during the start (a peer's
   * answer is not waited for). Nothing is left waiting once `p` settles.
   */
  async #orStopAsked<T>(p: Promise<T>): Promise<T | undefined> {
    if (this.#stopAsked) return undefined;
    let wake = (): void => {};
    const asked = new Promise<undefined>((resolve) => {
      wake = () => resolve(undefined);
    });
    this.#stopWaiters.add(wake);
    try {
      return await Promise.race([p, asked]);
    } finally {
      this.#stopWaiters.delete(wake);
    }
  }

  /** Between the steps of a start: ends it when a stop was asked. */
  #stopPoint(): void {
    if (this.#stopAsked) throw new StartStopped('node: stopped during start');
  }

  async #start(): Promise<void> {
    const c = this.#c;
    const init = this.#init;
    const { storage, application, transport, clock, logger, metrics } = c;
    // 1. Handshake.
    const { chain } = await handshake({
      application,
      storage,
      genesis: init.genesis,
      blockTimesCacheHeights: init.blockTimesCacheHeights,
      logger,
      shouldStop: () => this.#stopAsked,
      onReplayed: async (height, block, response) => {
        if (block.evidence.length > 0) await storage.evidence.markCommitted(block.evidence, height);
        const commit = await storage.blocks.loadCommit(height);
        if (commit !== undefined) this.#events.emit('block-write', this.#blockEvent(block, commit, response));
      },
    });
    if (init.haltHeight > 0 && chain.height >= init.haltHeight)
      throw new SynodError(
        'CONFIG_INVALID',
        `halt height ${init.haltHeight}: this node already committed height ${chain.height}; remove [consensus] halt_height (or set it above ${chain.height}) to go on`,
      );
    this.#chain = chain;
    this.#stopPoint();
    // 2. Mempool and evidence pool.
    const mempool = new Mempool(application, {
      ...init.mempool,
      height: chain.height,
      clock,
      logger,
      metrics,
    });
    // Evidence against a validator the application tombstoned is useless (never punished again).
    const isTombstoned = application.isTombstoned?.bind(application);
    const evidencePool = new EvidencePool({
      logger,
      metrics,
      maxPending: init.evidencePendingMax,
      ...(isTombstoned === undefined ? {} : { isTombstoned }),
    });
    const executor = new BlockExecutor({
      application,
      storage,
      chain,
      mempool,
      evidencePool,
      clock,
      verifySignature: c.verifySignature,
      logger,
      metrics,
      onExecuted: (block, commit, response) => this.#onExecuted(block, commit, response),
      writeGroup: (fn) => this.#writeGroup(fn),
      observeCommit: (commit) => this.#observeCommit(commit),
    });
    const running: Running = {
      chain,
      executor,
      mempool,
      evidencePool,
      monitor: new ConflictingCommitDetector(init.commitMonitorHeights),
      engine: undefined,
      stops: [],
      recentBlocks: new Map(),
      localTxs: new Map(),
      undecidedPull: 0,
    };
    this.#running = running;
    // The monitor starts from our own last commit, so that a conflicting one is seen after a restart too.
    const seenCommit = chain.height === 0 ? undefined : await storage.blocks.loadSeenCommit();
    if (seenCommit !== undefined) running.monitor.observe(seenCommit);
    for (const ev of await storage.evidence.listPending(init.evidencePendingMax)) {
      const ctx = await chain.evidenceContext([evidenceHeight(ev)], c.verifySignature);
      evidencePool.add(ev, ctx);
    }
    // 3. The transport's gossip validation reads the chain; serve the sync protocols.
    const detach = transport.attachValidation?.(this.#validationView(running));
    if (detach !== undefined) running.stops.push(detach);
    running.stops.push(transport.serve(this.#provider(running)));
    this.#stopPoint();
    // 4. Block sync (ended at a block boundary by a stop).
    if (init.syncLagHeights > 0) await this.#blockSync(running);
    this.#stopPoint();
    if (this.#halted !== undefined) {
      this.#state = 'halted';
      return;
    }
    if (this.#atHaltHeight(chain.height)) return;
    // 5. The engine, at the next height (stopped by the first of `stops`' engine entry).
    running.stops.push(async () => {
      const engine = running.engine;
      running.engine = undefined;
      await engine?.stop();
    });
    await this.#startEngine(running);
    this.#stopPoint();
    // 6. Gossip. A handler's failure is logged, never thrown into the transport.
    const guarded =
      <T>(topic: NodeTopic, handle: (received: Received<T>) => Promise<unknown> | undefined) =>
      async (received: Received<T>): Promise<void> => {
        try {
          await handle(received);
        } catch (err) {
          logger.warn('gossip handler failed', { topic, from: received.from, error: (err as Error).message });
        }
      };
    // Messages that arrive while the engine is replaced (live block sync) are dropped: the liveness
    // protocol gets what the new height needs.
    const unsubscribe = [
      transport.subscribe(
        'proposals',
        // The block is kept for block-by-hash only once the engine validates it (see #consensusApplication).
        guarded('proposals', ({ message }: Received<NodeMessages['proposals']>) =>
          running.engine?.receiveProposal(message.signedProposal, message.block),
        ),
      ),
      transport.subscribe(
        'votes',
        guarded('votes', ({ message }: Received<NodeMessages['votes']>) =>
          running.engine?.receiveVote(message),
        ),
      ),
      transport.subscribe(
        'evidence',
        guarded('evidence', ({ message, from }: Received<NodeMessages['evidence']>) =>
          this.#addEvidence(running, message, { peer: from }),
        ),
      ),
      // The transport relays gossip: a received tx is only added, never re-published.
      transport.subscribe(
        'txs',
        guarded('txs', ({ message, from }: Received<NodeMessages['txs']>) =>
          mempool.add(message, { source: from }),
        ),
      ),
    ];
    running.stops.push(() => {
      for (const off of unsubscribe) off();
    });
    // 7. The liveness loop (stopped first).
    if (init.livenessIntervalMs > 0) running.stops.push(this.#livenessLoop(running));
    if (this.#state === 'starting' || this.#state === 'syncing') this.#state = 'running';
    logger.info('node started', { ...chain.describe(), validator: c.signer !== null });
  }

  /** What the transport's gossip validation reads from the node (see GossipValidationView). */
  #validationView(running: Running): GossipValidationView {
    const { chain } = running;
    const chainView = chain.evidenceChainView();
    // Proposer schedules of the heights in the window, computed once per (height, set).
    const schedules = new Map<number, { readonly set: ValidatorSet; readonly schedule: ProposerSchedule }>();
    return {
      evidenceChain: () => chainView,
      currentHeight: () => chain.height + 1,
      currentRound: () => running.engine?.roundAt(chain.height + 1) ?? 0,
      validatorSetAt: (height) => chain.setAt(height),
      proposerIndex: (height, round) => {
        const set = chain.setAt(height);
        if (set === undefined) return undefined;
        let entry = schedules.get(height);
        if (entry === undefined || entry.set !== set) {
          entry = { set, schedule: new ProposerSchedule(set.validators) };
          schedules.set(height, entry);
          for (const h of schedules.keys()) if (h <= chain.height - 2) schedules.delete(h);
        }
        return entry.schedule.proposer(round);
      },
      verifySignature: this.#c.verifySignature,
      ...(this.#c.verifySignatures === undefined ? {} : { verifySignatures: this.#c.verifySignatures }),
    };
  }

  /** A consensus engine at the height after the chain state's, started (its WAL replayed). */
  async #startEngine(running: Running): Promise<void> {
    const c = this.#c;
    const { storage, clock, logger, metrics } = c;
    const { chain } = running;
    const height = chain.height + 1;
    const lastCommit = chain.height === 0 ? EMPTY_COMMIT : await storage.blocks.loadSeenCommit();
    if (lastCommit === undefined)
      throw new SynodError('STORAGE_CORRUPT', `node: no commit stored for height ${chain.height}`);
    const validatorSet = chain.setAt(height);
    if (validatorSet === undefined)
      throw new SynodError('INTERNAL', `node: no validator set for height ${height}`);
    const engine = new ConsensusEngine({
      chainId: this.#init.chainId,
      signer: c.signer,
      wal: storage.wal,
      blockStore: {
        height: () => storage.blocks.height(),
        // Unsynced: finalizeBlock's height batch follows in the same database, synced, and makes
        // it durable. A power cut between the two loses the block, as one just before the save
        // would: the WAL keeps this node's votes and peers have the block. One fsync less per height.
        saveBlock: (block, commit) => storage.blocks.saveBlock(block, commit, { sync: false }),
      },
      network: this.#consensusNetwork(running),
      application: this.#consensusApplication(running),
      clock,
      params: chain.snapshot.params,
      start: { height, validatorSet, lastCommit },
      evidence: { report: (ev) => this.#addEvidence(running, ev, 'local') },
      logger,
      metrics,
      verifySignature: c.verifySignature,
      commitMonitor: running.monitor,
      timeoutScale: this.#init.timeoutScale,
      haltHeight: this.#init.haltHeight,
      onHaltHeight: (h) => this.#haltHeightReached(h),
      onSecurityAlert: (alert) => this.#securityAlert(alert),
      onHalt: (error) => {
        this.#halted ??= error.message;
        this.#state = 'halted';
        this.#events.emit('halted', { error });
      },
    });
    running.engine = engine;
    await engine.start();
  }

  /** Stops in the reverse order of `start`. The host closes storage and transport afterwards. */
  async stop(): Promise<void> {
    const starting = this.#starting;
    if (starting !== undefined) {
      // A start in progress ends at its next step or block, undoing what it started.
      this.#stopAsked = true;
      for (const wake of this.#stopWaiters) wake();
      await starting.catch(() => {}); // its failure is the caller of start()'s
    }
    if (this.#state === 'stopped') return;
    await this.#stopRunning();
    this.#state = 'stopped';
  }

  async #stopRunning(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    if (running === undefined) return;
    for (const stop of running.stops.reverse()) await stop();
  }

  // ------------------------------------------------------------------ public API

  status(): NodeStatus {
    const running = this.#running;
    const s = this.#chain?.snapshot;
    const signer = this.#c.signer;
    return {
      state: this.#state,
      chainId: this.#init.chainId,
      height: s?.height ?? 0,
      lastBlockHash: toHex(s?.lastBlockHash ?? ZERO_HASH),
      lastBlockTimeMs: s?.lastBlockTimeMs ?? this.#init.genesis.genesisTimeMs,
      appHash: s === undefined ? '' : toHex(s.appHash),
      consensus: running?.engine?.status(),
      validator: signer === null ? undefined : toHex(signer.address),
      mempoolTxs: running?.mempool.size ?? 0,
      mempoolBytes: running?.mempool.bytes ?? 0,
      evidencePending: running?.evidencePool.pendingCount ?? 0,
      peers: this.#c.transport.peers().length,
      halted: this.#halted,
    };
  }

  /**
   * Submits a transaction: the application's checkTx (through the mempool),
   * then, when accepted, gossip. Rejections are results (the mempool's codes
   * or checkTx's), not exceptions.
   */
  async broadcastTx(tx: Uint8Array): Promise<AddResult> {
    const running = this.#needRunning();
    const result = await running.mempool.add(tx, { source: 'local' });
    if (result.accepted) {
      const local = running.localTxs;
      if (local.size >= TX_LOCAL_TRACKED_MAX) local.delete(local.keys().next().value as string);
      local.set(toHex(result.hash), running.mempool.height);
      await this.#publish('txs', tx);
    }
    return result;
  }

  /** Pending transactions in the order a proposal would take them, at most `limit`. */
  unconfirmedTxs(limit = Number.POSITIVE_INFINITY): MempoolTx[] {
    return this.#needRunning().mempool.contents(limit);
  }

  /** Drops every pending transaction (an operator's emergency tool; the RPC's `unsafe_flush_mempool`). */
  flushMempool(): Promise<void> {
    return this.#needRunning().mempool.flush();
  }

  /**
   * Evidence submitted from outside (the RPC's `broadcast_evidence`): verified
   * against the chain by the pool like a peer's, kept pending and gossiped
   * when it is new. Resolves to the pool's verdict: `'added'`, `'duplicate'`
   * (known or committed already) or `'invalid'` with the reason.
   */
  async submitEvidence(
    ev: Evidence,
  ): Promise<
    { readonly status: 'added' | 'duplicate' } | { readonly status: 'invalid'; readonly reason: string }
  > {
    const running = this.#needRunning();
    const { storage, verifySignature } = this.#c;
    if ((await storage.evidence.status(ev)) === 'committed') return { status: 'duplicate' };
    const ctx = await running.chain.evidenceContext([evidenceHeight(ev)], verifySignature);
    const result = running.evidencePool.add(ev, ctx);
    if (result.status === 'invalid') return { status: 'invalid', reason: result.problem.reason };
    if (result.status !== 'added') return { status: 'duplicate' };
    await storage.evidence.addPending(ev);
    this.#events.emit('evidence', { evidence: ev, source: 'local' });
    await this.#publish('evidence', ev);
    return { status: 'added' };
  }

  /** The application's answer to a query. */
  query(request: QueryRequest): Promise<QueryResponse> {
    return this.#c.application.query(request);
  }

  #needRunning(): Running {
    const running = this.#running;
    if (running === undefined || this.#state === 'starting')
      throw new SynodError('INTERNAL', `node: not running (${this.#state})`);
    return running;
  }

  // ------------------------------------------------------------------ consensus ports

  /**
   * The block executor as the engine's application, and the one place a
   * received block is kept to answer block-by-hash: the engine validates a
   * block only once it is vouched for — the value of a proposal whose
   * signature and proposer it checked, or a block it asked for by the hash a
   * quorum voted for — so nobody can plant blocks by gossiping forged
   * proposals. Only valid blocks are kept (no correct node needs an invalid one).
   */
  #consensusApplication(running: Running): ConsensusApplication {
    const { executor } = running;
    return {
      buildBlock: (request) => executor.buildBlock(request),
      validateBlock: async (block) => {
        const valid = await executor.validateBlock(block);
        if (valid) this.#remember(running, block);
        return valid;
      },
      finalizeBlock: (block, commit) => executor.finalizeBlock(block, commit),
    };
  }

  #consensusNetwork(running: Running): ConsensusNetwork {
    return {
      broadcastProposal: (proposal: SignedProposal, block: Block) => {
        this.#remember(running, block);
        return this.#publish('proposals', { signedProposal: proposal, block });
      },
      broadcastVote: (vote: SignedVote) => this.#publish('votes', vote),
      fetchBlock: (hash: Uint8Array) => this.#c.transport.requestBlockByHash(hash),
    };
  }

  async #publish<T extends NodeTopic>(topic: T, message: NodeMessages[T]): Promise<void> {
    try {
      await this.#c.transport.publish(topic, message);
    } catch (err) {
      // Gossip is best effort: a transport failure never reaches consensus.
      this.#c.logger.warn('publish failed', { topic, error: (err as Error).message });
    }
  }

  /**
   * Every `txRegossipHeights` heights, the transactions submitted to this node
   * that are still pending at least that many heights after it accepted them
   * go out again (at most TX_REGOSSIP_MAX, oldest first): see
   * `txRegossipHeights`. The ones no longer pending are forgotten here. Not
   * while block-syncing (the mempool is behind the chain then).
   */
  #regossip(height: number): void {
    const running = this.#running;
    const every = this.#init.txRegossipHeights;
    if (running === undefined || every === 0 || height % every !== 0 || this.#state !== 'running') return;
    let sent = 0;
    for (const [key, accepted] of running.localTxs) {
      const tx = running.mempool.get(key);
      if (tx === undefined) {
        running.localTxs.delete(key);
        continue;
      }
      // in order of acceptance: the rest are younger still
      if (accepted > height - every || sent >= TX_REGOSSIP_MAX) break;
      void this.#publish('txs', tx);
      sent++;
    }
    if (sent > 0) this.#c.logger.debug('transactions gossiped again', { height, txs: sent });
  }

  /** A block of a height not yet decided, kept (bounded) to answer block-by-hash requests. */
  #remember(running: Running, block: Block): void {
    if (block.header.height <= running.chain.height) return;
    const blocks = running.recentBlocks;
    blocks.set(toHex(blockHash(block)), block);
    while (blocks.size > this.#init.recentBlocksMax) blocks.delete(blocks.keys().next().value as string);
  }

  /**
   * Evidence from our consensus (`'local'`) or a peer: verified against the
   * chain by the pool, kept pending in the evidence store, announced as an
   * event; our own is gossiped (the transport relays a peer's).
   */
  async #addEvidence(
    running: Running,
    ev: Evidence,
    source: 'local' | { readonly peer: string },
  ): Promise<void> {
    const { storage, verifySignature } = this.#c;
    // [IGNORE] committed already (the durable record; the pool's is memory).
    if ((await storage.evidence.status(ev)) === 'committed') return;
    const ctx = await running.chain.evidenceContext([evidenceHeight(ev)], verifySignature);
    const result = running.evidencePool.add(ev, ctx);
    if (result.status !== 'added') return;
    await storage.evidence.addPending(ev);
    this.#events.emit('evidence', { evidence: ev, source });
    if (source === 'local') await this.#publish('evidence', ev);
  }

  /** A verified commit from outside our own consensus (see BlockExecutor's fork proof). */
  #observeCommit(commit: Commit): void {
    const running = this.#running;
    if (running === undefined) return;
    // With the engine running, it watches (its monitor is ours), raises the alert and halts itself.
    if (running.engine !== undefined) {
      running.engine.observeCommit(commit);
      return;
    }
    const alert = running.monitor.observe(commit);
    if (alert !== undefined) this.#securityAlert(alert);
  }

  /** Two valid commits for different blocks at one height: once per start, then no more blocks. */
  #securityAlert(alert: ConflictingCommits): void {
    if (this.#alerted) return;
    this.#alerted = true;
    this.#halted ??= `conflicting commits at height ${alert.height}`;
    this.#c.logger.error('SECURITY ALERT: two valid commits for different blocks at one height', {
      height: alert.height,
      blockA: toHex(alert.commitA.blockHash),
      blockB: toHex(alert.commitB.blockHash),
    });
    this.#events.emit('security-alert', alert);
    // Before the engine runs (block sync), the node halts here; a running engine halts itself.
    if (this.#running?.engine === undefined) {
      this.#state = 'halted';
      this.#events.emit('halted', {
        error: new SynodError(
          'SECURITY_CONFLICTING_COMMITS',
          `conflicting commits at height ${alert.height}: more than 1/3 of the voting power is Byzantine`,
        ),
      });
    }
  }

  /** True (and `halt-height` emitted once) when `height` is the configured halt height or above. */
  #atHaltHeight(height: number): boolean {
    if (this.#init.haltHeight === 0 || height < this.#init.haltHeight) return false;
    this.#haltHeightReached(height);
    return true;
  }

  #haltHeightReached(height: number): void {
    if (this.#haltEmitted) return;
    this.#haltEmitted = true;
    this.#c.logger.info('halt height reached: this node starts no next height', { height });
    this.#events.emit('halt-height', { height });
  }

  /**
   * A block was executed inside a write group: `block-write` now (listeners
   * add their records to the group's batch), `block` once the batch is on
   * disk (`#writeGroup`), so that no observer hears of a block a crash can
   * still take back.
   */
  #onExecuted(block: Block, commit: Commit, response: FinalizeBlockResponse): void {
    const running = this.#running;
    if (running !== undefined) {
      for (const [k, b] of running.recentBlocks)
        if (b.header.height <= block.header.height) running.recentBlocks.delete(k);
    }
    const event = this.#blockEvent(block, commit, response);
    this.#events.emit('block-write', event);
    this.#written.push(event);
  }

  /**
   * Runs `fn` in a write group of the node's storage, then announces the
   * blocks it executed (`block`) once their batch is written. A failed
   * batch announces nothing (the store then refuses writes: the node stops).
   */
  async #writeGroup<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#groupDepth > 0) return fn();
    this.#groupDepth++;
    try {
      return await this.#writeGroupOuter(fn);
    } finally {
      this.#groupDepth--;
    }
  }

  async #writeGroupOuter<T>(fn: () => Promise<T>): Promise<T> {
    const outcome = await this.#c.storage
      .writeGroup(async () => {
        try {
          return { ok: true as const, value: await fn() };
        } catch (error) {
          // What fn wrote before it failed is still written: its blocks are announced below.
          return { ok: false as const, error };
        }
      })
      .catch((err: unknown) => {
        this.#written = [];
        throw err;
      });
    const written = this.#written;
    this.#written = [];
    for (const event of written) this.#events.emit('block', event);
    const last = written.at(-1);
    if (last !== undefined) this.#regossip(last.height);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  #blockEvent(block: Block, commit: Commit, response: FinalizeBlockResponse): BlockDecidedEvent {
    return {
      height: block.header.height,
      hash: blockHash(block),
      block,
      commit,
      txResults: response.txResults,
      validatorUpdates: response.validatorUpdates,
      ...(response.consensusParamUpdates === undefined
        ? {}
        : { consensusParamUpdates: response.consensusParamUpdates }),
      appHash: response.appHash,
    };
  }

  // ------------------------------------------------------------------ liveness

  /**
   * The liveness loop: every `livenessIntervalMs`, a node whose height has
   * not advanced since the last tick asks one peer (the next in turn) what it
   * holds for the height and round it is stuck at, and gives the reply to its
   * engine (which checks every signature again): the proposals with their
   * blocks and the votes, or, when the peer decided the height, the block and
   * its commit's precommits, so that the engine decides by itself; a height
   * gained that way, when the peer is further ahead, is followed by the next
   * pull at once (a node a few heights behind catches up with its engine
   * running). When the peer is `livenessCatchUpHeights` (and
   * `syncLagHeights`) or more ahead, or has decided our height, a commit of
   * it pulled before did not make our engine decide and we are still stuck
   * after `livenessSyncTicks` ticks, the node block-syncs (engine
   * stopped, blocks verified and executed, engine started at the new height)
   * and pulls once more at once. Gossip never delivers a message twice, so
   * this pull is how a node recovers what it lost (a partition, a restart,
   * dropped messages). One new pull per tick, or one per height gained, and a
   * pull still waiting for its peer does not hold the next tick's pull to
   * another peer back (at most one per peer, `LIVENESS_PULLS_MAX` at once):
   * its cost is bounded whatever peers do, and a peer that does not answer
   * costs a tick, not a request timeout.
   * Returns the function that stops the loop.
   */
  #livenessLoop(running: Running): () => Promise<void> {
    const { clock, logger } = this.#c;
    const interval = this.#init.livenessIntervalMs;
    let stopped = false;
    let cancel: (() => void) | undefined;
    let lastHeight = running.chain.height;
    let stuck = 0;
    let cursor = 0;
    /** The peers with a pull in flight. */
    const asking = new Set<string>();
    /**
     * What pulls do with a reply (the engine, a block sync) happens one pull at
     * a time, and not after a stop: a stop waits for the one running, not for
     * requests to peers that may hang until their timeout.
     */
    let applying: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(f: () => Promise<T>): Promise<T | undefined> => {
      const run = applying.then(() => (stopped ? undefined : f()));
      applying = run.catch(() => undefined);
      return run;
    };
    /** The last peer asked had decided our height (we are behind it). */
    let behind = false;
    const tick = (): void => {
      cancel = undefined;
      if (stopped) return;
      cancel = clock.setTimer(interval, tick);
      step();
    };
    const step = (): void => {
      if (stopped || this.#state !== 'running' || running.engine === undefined) return;
      // The stall is counted in ticks of time, a pull in flight or not: a request to a peer cut off
      // by a firewall hangs until its timeout, and the stall must not wait for it to be reported.
      if (running.chain.height !== lastHeight) {
        if (stuck >= this.#init.livenessSyncTicks)
          logger.warn('blocks are decided again after a stall', {
            event: 'partition_healed',
            height: running.chain.height,
            stalledMs: stuck * interval,
          });
        lastHeight = running.chain.height;
        stuck = 0;
        // Progress, but the last peer asked was ahead of us: pull the next height now.
        if (!behind || asking.size > 0) return;
      } else stuck++;
      if (stuck === this.#init.livenessSyncTicks) {
        const st = running.engine.status();
        logger.warn('no block decided for a while: a partition, or too many validators down', {
          event: 'partition_suspected',
          height: running.chain.height + 1,
          round: st?.round,
          step: st?.step,
          peers: this.#c.transport.peers().length,
          stalledMs: stuck * interval,
        });
      }
      // A pull still in flight does not hold the next one back: after a partition heals, a peer
      // whose connection is still dead (TCP retransmits back off to seconds) would otherwise stall
      // the node for a request timeout while its other peers could answer at once. One pull per
      // peer, at most LIVENESS_PULLS_MAX at a time, one new pull per tick: bounded whatever peers do.
      if (asking.size >= LIVENESS_PULLS_MAX) return;
      const peers =
        running.engine.status() === undefined ? [] : this.#c.transport.peers().filter((p) => !asking.has(p));
      if (peers.length === 0) return;
      const peer = peers[cursor++ % peers.length] as string;
      const before = running.chain.height;
      asking.add(peer);
      void this.#pull(running, peer, stuck, exclusive)
        .then((ahead) => {
          behind = ahead;
          // A height was gained: look again at once — the stall is over (logged now), and a node
          // still behind pulls the next height without waiting a tick (one height behind a chain as
          // fast as a tick, it would otherwise never catch up).
          if (running.chain.height !== before) clock.setTimer(0, step);
        })
        .catch((err: unknown) => {
          behind = false;
          logger.debug('liveness: peer did not help', { peer, error: (err as Error).message });
        })
        .finally(() => {
          asking.delete(peer);
        });
    };
    cancel = clock.setTimer(interval, tick);
    // Stopping waits for the pull applying its answer (a block sync writes to storage the host
    // closes next); pulls still waiting for a peer's answer do nothing once it comes.
    return async () => {
      stopped = true;
      cancel?.();
      await applying;
    };
  }

  /**
   * One liveness step with `peer` (see #livenessLoop); true when the peer had
   * decided our height. The requests run beside other pulls; what is done with
   * the answers runs in `exclusive` (one pull at a time), after checking that
   * the engine and height it was asked for are still the node's.
   */
  async #pull(
    running: Running,
    peer: string,
    stuck: number,
    exclusive: <T>(f: () => Promise<T>) => Promise<T | undefined>,
  ): Promise<boolean> {
    const { transport } = this.#c;
    const engine = running.engine;
    const st = engine?.status();
    if (engine === undefined || st === undefined) return false;
    const height = running.chain.height + 1;
    const current = (): boolean => running.engine === engine && running.chain.height + 1 === height;
    const status = await transport.requestStatus(peer);
    const lag = this.#init.syncLagHeights;
    // A few heights behind: decided heights are pulled one after another below, with the engine
    // running (it keeps the next height's messages). Block sync only further behind: it stops the
    // engine, and a node that syncs a few heights behind a chain faster than a tick ends behind
    // again without the current height's messages, over and over (a joining validator that never
    // signs). After a sync, pull again at once: the current height is what the new engine needs.
    if (lag > 0 && status.height >= height - 1 + Math.max(lag, this.#init.livenessCatchUpHeights)) {
      const synced = await exclusive(async () => {
        if (!current()) return false;
        await this.#resync(running, lag);
        return true;
      });
      return synced ?? false;
    }
    const reply = await transport.requestConsensus(peer, { height, round: st.round });
    const applied = await exclusive(async () => {
      if (!current()) return false;
      const decided = reply.decided;
      if (decided !== undefined && decided.block.header.height === height) {
        // A commit of this height already failed to make our engine decide, and we are still stuck.
        if (lag > 0 && running.undecidedPull === height && stuck >= this.#init.livenessSyncTicks) {
          await this.#resync(running, 1);
          return status.height > running.chain.height;
        }
        if (!(await this.#decideFrom(running, engine, decided, status.height))) {
          running.undecidedPull = height;
          return false;
        }
        // Further behind: the next heights in one request (at most up to the catch-up window), each
        // decided by the engine from its commit the same way. A reply that does not decide the next
        // height ends it: the loop goes on from there.
        const last = Math.min(status.height, height + this.#init.livenessCatchUpHeights - 1);
        if (last > height) {
          const items = await transport.requestBlockRange(peer, height + 1, last);
          for (const item of items) {
            if (running.engine !== engine || item.block.header.height !== running.chain.height + 1) break;
            if (!(await this.#decideFrom(running, engine, item, status.height))) break;
          }
        }
        return status.height > running.chain.height;
      }
      for (const p of reply.proposals) await engine.receiveProposal(p.signedProposal, p.block);
      for (const vote of reply.votes) await engine.receiveVote(vote);
      return false;
    });
    return applied ?? false;
  }

  /**
   * Gives the engine a decided height's block and its commit's precommits
   * (it checks every signature; it decides only on a quorum for that block);
   * true when the height was decided. When the peer is past it, the next
   * height starts at once: the commit timeout would only keep us behind.
   */
  async #decideFrom(
    running: Running,
    engine: ConsensusEngine,
    decided: BlockWithCommit,
    peerHeight: number,
  ): Promise<boolean> {
    const height = decided.block.header.height;
    if (decided.commit.height !== height) return false;
    // Precommits first: the engine takes only a block its core asked for (a quorum for it). It also
    // asks the network for that block at once; the one handed next is taken first, the fetch's
    // answer then ignored.
    for (const vote of this.#commitVotes(running, decided.commit)) await engine.receiveVote(vote);
    await engine.receiveBlock(decided.block);
    await engine.idle();
    if (running.chain.height < height) return false;
    if (peerHeight > height) await engine.skipCommitTimeout();
    return true;
  }

  /** The precommits a commit is made of (absent signatures skipped), as the engine takes votes. */
  #commitVotes(running: Running, commit: Commit): SignedVote[] {
    const set = running.chain.setAt(commit.height);
    if (set === undefined) return [];
    const votes: SignedVote[] = [];
    commit.signatures.forEach((cs, i) => {
      const v = set.validators[i];
      if (cs.flag === 'absent' || v === undefined) return;
      votes.push({
        vote: {
          type: 'precommit',
          height: commit.height,
          round: commit.round,
          blockHash: cs.flag === 'commit' ? commit.blockHash : null,
          validatorAddress: v.address,
        },
        signature: cs.signature,
      });
    });
    return votes;
  }

  /**
   * Block sync while running: the engine stops (its memory of the height is
   * dropped; the WAL keeps what it signed), the node syncs from peers
   * `startLag` or more heights ahead, and a new engine starts at the height
   * after the last one synced.
   */
  async #resync(running: Running, startLag: number): Promise<void> {
    const engine = running.engine;
    if (engine === undefined || this.#state !== 'running' || this.#running !== running) return;
    running.engine = undefined;
    await engine.stop();
    try {
      await this.#blockSync(running, startLag);
    } finally {
      if (
        this.#running === running &&
        this.#halted === undefined &&
        !this.#atHaltHeight(running.chain.height)
      ) {
        await this.#startEngine(running);
        this.#state = 'running';
      }
    }
  }

  // ------------------------------------------------------------------ block sync

  /** What this node serves to peers. */
  #provider(running: Running): SyncProvider {
    const { storage } = this.#c;
    return {
      status: (): ChainStatus => {
        const s = running.chain.snapshot;
        return { height: s.height, lastBlockHash: s.lastBlockHash, earliestHeight: storage.blocks.base() };
      },
      blockByHash: async (hash) =>
        running.recentBlocks.get(toHex(hash)) ?? (await storage.blocks.loadBlockByHash(hash)),
      blockRange: async (from, to) => {
        const out: BlockWithCommit[] = [];
        const last = Math.min(to, running.chain.height, from + this.#init.syncBatchBlocks - 1);
        for (let h = Math.max(from, 1); h <= last; h++) {
          const block = await storage.blocks.loadBlock(h);
          const commit = await storage.blocks.loadCommit(h);
          if (block === undefined || commit === undefined) break;
          out.push({ block, commit });
        }
        return out;
      },
      consensus: async ({ height, round }): Promise<ConsensusReply> => {
        // A height we decided: the block and its commit (the asker's engine decides from its precommits).
        if (height <= running.chain.height) {
          if (height < Math.max(1, storage.blocks.base())) return { proposals: [], votes: [] };
          const block = await storage.blocks.loadBlock(height);
          const commit = await storage.blocks.loadCommit(height);
          if (block === undefined || commit === undefined) return { proposals: [], votes: [] };
          return { proposals: [], votes: [], decided: { block, commit } };
        }
        const held = running.engine?.heldMessages(height, round);
        return { proposals: held?.proposals ?? [], votes: held?.votes ?? [] };
      },
    };
  }

  /**
   * Block sync: while a peer says it is `startLag` or more heights ahead
   * (then until caught up with the best peer), fetch ranges of
   * `syncBatchBlocks` blocks from the peers that have them — up to
   * `syncParallelRequests` ranges in flight, spread over those peers in turn
   * — and apply them in height order: each commit verified against the set
   * of its height with `commitProblem`, each block with every check but the
   * clock's, then saved and executed. A peer whose blocks do not verify, or
   * that has nothing of a range it claimed, is dropped for this sync and its
   * range asked of another. Progress (height, target, blocks/s, ETA) is
   * logged and announced as `sync` events.
   */
  async #blockSync(running: Running, startLag = this.#init.syncLagHeights): Promise<void> {
    const { transport, logger, clock } = this.#c;
    const { chain } = running;
    const dropped = new Set<string>();
    const from = chain.height + 1;
    const progress = { syncing: false, startedMs: clock.now(), lastLogMs: 0 };
    /** Each peer's last answered height (answers after a pass began count in the next one). */
    const heights = new Map<string, number>();
    /** Peers with a status request in flight: not asked again until it ends. */
    const asking = new Set<string>();
    for (;;) {
      if (this.#running !== running || this.#halted !== undefined || this.#stopAsked) return;
      // Every peer's status at once. The pass goes on once all have answered, or STATUS_GRACE_MS after
      // the first answer: a silent peer (a dead connection after a partition heals) costs at most the
      // grace, not a request timeout per pass, while the peers that do answer are synced from.
      const requests = transport
        .peers()
        .filter((peer) => !dropped.has(peer) && !asking.has(peer))
        .map(async (peer) => {
          asking.add(peer);
          try {
            heights.set(peer, (await transport.requestStatus(peer)).height);
            return true;
          } catch {
            // A peer that does not answer is not asked again during this sync: each pass would
            // otherwise wait for it while the chain moves on.
            dropped.add(peer);
            heights.delete(peer);
            return false;
          } finally {
            asking.delete(peer);
          }
        });
      // A stop during the start does not wait for a silent peer's timeout.
      await this.#orStopAsked(this.#answersOrGrace(requests, heights.size > 0));
      if (this.#stopAsked) return;
      for (const peer of dropped) heights.delete(peer);
      const best = Math.max(0, ...heights.values());
      // A halt height caps the sync: the node stops there like its peers.
      const target = this.#init.haltHeight > 0 ? Math.min(best, this.#init.haltHeight) : best;
      // Once syncing, go on while a peer is two or more heights ahead: one height behind, consensus
      // (with the next height's messages it buffered) or the liveness loop takes over — chasing a
      // chain that moves as fast as a pass could keep the node out of consensus for ever.
      const lag = progress.syncing ? 2 : startLag;
      if (heights.size === 0 || target < chain.height + lag) break;
      if (!progress.syncing) {
        progress.syncing = true;
        this.#state = 'syncing';
        logger.info('block sync', { height: chain.height, target, peers: heights.size });
      }
      // Each pass applies blocks or drops a peer: the loop ends.
      await this.#syncRanges(running, heights, target, dropped, from, progress);
    }
    if (progress.syncing && this.#running === running && this.#halted === undefined) {
      this.#events.emit('sync', { from, height: chain.height, target: chain.height, done: true });
      logger.info('block sync done', chain.describe());
    }
  }

  /**
   * Resolves when every request has ended, or STATUS_GRACE_MS after the first
   * one answers (the grace starts at once when `answeredBefore`: answers of
   * earlier passes are known).
   */
  #answersOrGrace(requests: readonly Promise<boolean>[], answeredBefore: boolean): Promise<void> {
    const { clock } = this.#c;
    return new Promise<void>((resolve) => {
      let left = requests.length;
      let cancel: (() => void) | undefined;
      const done = (): void => {
        cancel?.();
        resolve();
      };
      const grace = (): void => {
        cancel ??= clock.setTimer(STATUS_GRACE_MS, done);
      };
      if (left === 0) return done();
      if (answeredBefore) grace();
      for (const r of requests)
        void r.then((answered) => {
          left--;
          if (left === 0) done();
          else if (answered) grace();
        });
    });
  }

  /** Fetches `chain.height + 1 .. target` from `heights`' peers, several ranges at a time, applied in order. */
  async #syncRanges(
    running: Running,
    heights: ReadonlyMap<string, number>,
    target: number,
    dropped: Set<string>,
    from: number,
    progress: { startedMs: number; lastLogMs: number },
  ): Promise<void> {
    const { transport, logger, clock } = this.#c;
    const { chain } = running;
    const batch = this.#init.syncBatchBlocks;
    type Fetched = {
      readonly peer: string;
      readonly end: number;
      readonly items: readonly BlockWithCommit[];
    };
    const inFlight = new Map<number, Promise<Fetched>>();
    let turn = 0;
    /** Asks a peer that has `end` (else one that has `start`) for start..end; false when no peer can. */
    const ask = (start: number, end: number): boolean => {
      const able = (h: number) =>
        [...heights].filter(([p, ph]) => !dropped.has(p) && ph >= h).map(([p]) => p);
      const peers = able(end).length > 0 ? able(end) : able(start);
      const peer = peers[turn++ % Math.max(1, peers.length)];
      if (peer === undefined) return false;
      const last = Math.min(end, heights.get(peer) ?? end);
      inFlight.set(
        start,
        transport.requestBlockRange(peer, start, last).then(
          (items) => ({ peer, end: last, items }),
          () => ({ peer, end: last, items: [] }),
        ),
      );
      return true;
    };
    let next = chain.height + 1;
    for (;;) {
      if (this.#running !== running || this.#halted !== undefined || this.#stopAsked) return;
      while (inFlight.size < this.#init.syncParallelRequests && next <= target) {
        const end = Math.min(target, next + batch - 1);
        if (!ask(next, end)) break;
        next = end + 1;
      }
      const h = chain.height + 1;
      if (h > target) return;
      const pending = inFlight.get(h);
      if (pending === undefined) {
        // Nothing asked for h (its range was cut short, or its peer dropped): ask again, or give up.
        if (!ask(h, Math.min(target, h + batch - 1))) return;
        continue;
      }
      const fetched = await this.#orStopAsked(pending);
      if (fetched === undefined || this.#stopAsked) return;
      const { peer, end, items } = fetched;
      inFlight.delete(h);
      const applied = await this.#applySynced(running, peer, items);
      if (applied === 0) {
        dropped.add(peer);
        if (this.#halted !== undefined) return;
        continue;
      }
      // A range answered in part: the rest of it is asked for again at the top of the loop.
      if (chain.height < end && !inFlight.has(chain.height + 1)) ask(chain.height + 1, end);
      const now = clock.now();
      const done = chain.height - from + 1;
      const rate = done / Math.max(0.001, (now - progress.startedMs) / 1000);
      this.#events.emit('sync', { from, height: chain.height, target, done: false });
      if (now - progress.lastLogMs >= 5_000 || chain.height === target) {
        progress.lastLogMs = now;
        logger.info('block sync progress', {
          height: chain.height,
          target,
          blocksPerSecond: Math.round(rate * 10) / 10,
          etaSeconds: Math.round((target - chain.height) / Math.max(rate, 0.001)),
          inFlight: inFlight.size,
        });
      }
    }
  }

  /**
   * Applies synced blocks in order from the chain state's next height; stops
   * at the first one that does not verify. Returns how many were applied.
   * Every record of the blocks applied — blocks, chain state, application
   * state, evidence, the RPC's index — is written in one atomic batch when
   * the range is done (`NodeStorage.writeGroup`): a crash keeps all of the
   * range or none of it, and the next start asks for the rest again.
   */
  async #applySynced(running: Running, peer: string, items: readonly BlockWithCommit[]): Promise<number> {
    return this.#writeGroup(() => this.#applySyncedBlocks(running, peer, items));
  }

  async #applySyncedBlocks(
    running: Running,
    peer: string,
    items: readonly BlockWithCommit[],
  ): Promise<number> {
    const { storage, verifySignature, logger } = this.#c;
    const { chain, executor, monitor } = running;
    let applied = 0;
    for (const { block, commit } of items) {
      if (this.#running !== running || this.#stopAsked) return applied;
      const h = chain.height + 1;
      const set = chain.setAt(h);
      const bad =
        block.header.height !== h || set === undefined
          ? `block ${block.header.height}, expected ${h}`
          : (commitProblem(chain.chainId, set, commit, {
              height: h,
              blockHash: blockHash(block),
              verifySignature,
            }) ?? (await executor.blockProblem(block, { proposal: false }))?.reason);
      if (this.#halted !== undefined) return applied; // the block proved a fork: the security alert
      if (bad !== undefined) {
        logger.warn('block sync: invalid block from peer', { peer, height: h, reason: bad });
        return applied;
      }
      const alert = monitor.observe(commit);
      if (alert !== undefined) {
        this.#securityAlert(alert);
        return applied;
      }
      await storage.blocks.saveBlock(block, commit);
      const response = await executor.execute(block);
      await executor.afterExecute(block, commit, response);
      applied++;
    }
    return applied;
  }
}

/** Creates a node (not started): `components` are its ports, `init` its configuration. */
export function createNode(components: NodeComponents, init: NodeInit): SynodNode {
  return new SynodNode(components, init);
}
