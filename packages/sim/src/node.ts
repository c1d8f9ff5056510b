import {
  type ConsensusApplication,
  type ConsensusBlockStore,
  ConsensusEngine,
  type ConsensusNetwork,
  decodeWalEntry,
  type WalEntry,
} from '@synod/consensus';
import { addressFromPublicKey, toHex } from '@synod/crypto';
import { createSigner, MemoryConsensusWal, MemorySignerStateStore } from '@synod/storage';
import {
  type Block,
  blockHash,
  type Clock,
  type Commit,
  type ConsensusParams,
  type ConsensusWal,
  commitProblem,
  EMPTY_COMMIT,
  type Evidence,
  evidenceValidator,
  type LastSignState,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type Signer,
  type SignerStateStore,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';
import type { SimApplication, SimAppStorage } from './app.js';
import { SimBlockStore } from './block-store.js';
import { type ByzantineAction, ByzantineActor } from './byzantine.js';
import type { Checkers, SeenMessage } from './checkers.js';
import { decodeWire, encodeWire, type WireMessage } from './codec.js';
import type { EventQueue } from './event-queue.js';
import type { SimNetwork } from './network.js';
import type { Rng } from './rng.js';
import type { ByzantineProfile, Scenario } from './scenario.js';
import type { SignatureOracle } from './signatures.js';
import type { Trace } from './trace.js';

/** Trace record tags (mixed into the run's hash). */
export const TAG = {
  deliver: 1,
  decide: 2,
  crash: 3,
  restart: 4,
  partition: 5,
  heal: 6,
  storm: 7,
  calm: 8,
  evidence: 9,
  byzantine: 10,
  timer: 11,
  send: 12,
  rejected: 13,
  phase: 14,
  status: 15,
  sync: 16,
  pool: 17,
} as const;

/** Counters of a run (all deterministic). */
export interface SimCounters {
  messagesSent: number;
  messagesRejected: number;
  crashes: number;
  restarts: number;
  partitions: number;
  storms: number;
  catchUps: number;
  regossips: number;
  syncs: number;
  /** Evidence messages sent (first broadcasts, relays and re-gossip). */
  evidenceGossip: number;
  /** Evidence honest nodes' pools refused (garbage, or not verifiable yet). */
  evidenceRefused: number;
  byzantineActions: Record<ByzantineAction, number>;
}

/** What nodes share: the simulated world. */
export interface SimWorld {
  readonly queue: EventQueue;
  readonly network: SimNetwork<Uint8Array>;
  readonly chainId: string;
  readonly params: ConsensusParams;
  readonly scenario: Scenario;
  readonly oracle: SignatureOracle;
  readonly checkers: Checkers;
  readonly trace: Trace;
  readonly counters: SimCounters;
  /** Addresses of the Byzantine validators (a cheap pre-filter for the WAL tap). */
  readonly byzantineAddresses: readonly Buffer[];
  /** Node (= genesis validator) index of an address, or −1: validators keep their index when the set changes. */
  indexOf(address: Uint8Array): number;
  /** Wall-clock-free time of the simulated world: genesis time + simulated ms. */
  nowMs(): number;
  /** A node died (crash or crash point hit). */
  onKilled(node: SimNode): void;
  /** A node decided `height`. */
  onDecided(node: SimNode, height: number): void;
  /** A node's WAL closed `height` after `bytes` bytes of records appended for it (a restart replays at most those). */
  onWalHeight(node: SimNode, height: number, bytes: number): void;
}

/** What survives a crash: the node's disk. */
export interface NodeDisk {
  wal: MemoryConsensusWal;
  readonly signerState: MemorySignerStateStore;
  readonly blocks: SimBlockStore;
  readonly app: SimAppStorage;
}

interface CrashPoint {
  /** Storage operations to let through before the crash. */
  countdown: number;
  /** Whether the operation that crashes is applied first (power lost just after it) or not. */
  readonly applyFirst: boolean;
}

/** One incarnation of a node: everything in memory, dropped at a crash. */
interface Life {
  readonly id: number;
  alive: boolean;
  engine: ConsensusEngine | undefined;
  readonly app: SimApplication;
  crashPoint: CrashPoint | undefined;
  /**
   * Consensus messages (own and received) of heights not yet decided, with
   * their height and round: re-sent when the node is stuck, as gossip does
   * (every message a correct node has is eventually everyone's).
   */
  readonly relay: Map<Uint8Array, { readonly height: number; readonly round: number }>;
  /** Blocks received for heights not yet decided, by hash. */
  readonly blocks: Map<string, Block>;
  lastTick: string;
  /** Gossip ticks in a row without progress (height or round). */
  stuck: number;
  /** Highest height seen in a peer's message (to notice the node is behind). */
  peerHeight: number;
  /** Decided blocks with their commits received from peers (block sync), by height. */
  readonly synced: Map<number, { readonly block: Block; readonly commit: Commit }>;
  syncing: boolean;
}

/** Peers a stuck node re-sends its messages to, per gossip tick. */
const REGOSSIP_FANOUT = 4;

/** Block sync answers at most this many heights at once. */
const SYNC_BATCH = 16;

/** Peers an honest node sends its pending evidence to, per gossip tick (and relays new evidence to). */
const EVIDENCE_FANOUT = 2;
/** Most pending evidence items re-gossiped per tick. */
const EVIDENCE_REGOSSIP_MAX = 8;

export const GENESIS_TIME_MS = 1_700_000_000_000;

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** How an evidence pool answered, as a trace number. */
const POOL_STATUS = { added: 1, duplicate: 2, committed: 3, invalid: 4 } as const;

/** Decoded messages by their bytes: a broadcast is one array sent to every peer, decoded once. */
const decoded = new WeakMap<Uint8Array, WireMessage | null>();

/**
 * One validator's node: its disk (WAL, signer state, block store,
 * application state) and, while it is up, an incarnation running the
 * production `ConsensusEngine` over simulated ports. A crash drops the
 * incarnation and loses the WAL's unsynced records; a restart builds a new
 * engine over the same disk, which replays its WAL.
 */
export class SimNode {
  readonly index: number;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  readonly disk: NodeDisk;
  readonly byzantine: ByzantineActor | undefined;
  readonly #w: SimWorld;
  readonly #keySeed: Uint8Array;
  readonly #rng: Rng;
  #life: Life | undefined;
  #lives = 0;
  /** Bytes appended to the WAL since its last end-height record (what a restart would replay). */
  #walBytes = 0;

  constructor(
    world: SimWorld,
    index: number,
    key: { readonly seed: Uint8Array; readonly publicKey: Uint8Array },
    app: SimAppStorage,
    rng: Rng,
    profile: ByzantineProfile | undefined,
    attackRng: Rng,
  ) {
    this.#w = world;
    this.index = index;
    this.#keySeed = key.seed;
    this.publicKey = key.publicKey;
    this.address = addressFromPublicKey(key.publicKey);
    this.#rng = rng;
    this.disk = {
      wal: new MemoryConsensusWal(),
      signerState: new MemorySignerStateStore(),
      blocks: new SimBlockStore(),
      app,
    };
    this.byzantine =
      profile === undefined
        ? undefined
        : new ByzantineActor(
            {
              index,
              n: world.scenario.validators,
              chainId: world.chainId,
              keySeed: key.seed,
              publicKey: key.publicKey,
              address: this.address,
              rng: rng.fork(),
              attackRng,
              oracle: world.oracle,
              send: (to, bytes) => this.#send(to, bytes),
              app: () => this.#life?.app,
              decided: () => this.disk.blocks.height(),
              decidedBlock: (h) => this.disk.blocks.block(h),
              action: (kind, detail) => {
                world.counters.byzantineActions[kind]++;
                world.trace.record(TAG.byzantine, index);
                if (world.trace.verbose)
                  world.trace.line(`${stamp(world)} byzantine ${index} ${kind}: ${detail}`);
              },
            },
            profile,
          );
  }

  get honest(): boolean {
    return this.byzantine === undefined;
  }

  get alive(): boolean {
    return this.#life?.alive === true;
  }

  /** Heights this node has decided (its block store). */
  get decided(): number {
    return this.disk.blocks.height();
  }

  get application(): SimApplication | undefined {
    return this.#life?.app;
  }

  /** (height, round) of its engine, when up. */
  position(): { readonly height: number; readonly round: number } | undefined {
    const st = this.#life?.engine?.status();
    return st === undefined ? undefined : { height: st.height, round: st.round };
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Starts an incarnation over the disk: handshake, signer, engine, WAL
   * replay. `app` keeps the running application (a consensus restart after
   * block sync, not a crash: its memory, e.g. the evidence pool, survives).
   */
  async start(app?: SimApplication): Promise<void> {
    const w = this.#w;
    const application = app ?? (await this.disk.app.open());
    const life: Life = {
      id: ++this.#lives,
      alive: true,
      engine: undefined,
      app: application,
      crashPoint: undefined,
      relay: new Map(),
      blocks: new Map(),
      lastTick: '',
      stuck: 0,
      peerHeight: 0,
      synced: new Map(),
      syncing: false,
    };
    this.#life = life;
    // Handshake: a crash between saving a block and finalizing it leaves the application behind.
    const store = this.disk.blocks;
    while (application.height() < store.height()) {
      const h = application.height() + 1;
      await application.finalizeBlock(store.block(h) as Block, store.commit(h) as Commit);
    }
    const height = store.height() + 1;
    const validatorSet = application.validatorSetAt(height);
    if (validatorSet === undefined)
      throw new Error(`node ${this.index}: no validator set for height ${height}`);
    const signer = this.honest ? await this.#guardedSigner(life) : this.#rawSigner();
    const engine = new ConsensusEngine({
      chainId: w.chainId,
      signer,
      wal: this.#walPort(life),
      blockStore: this.#blockStorePort(life),
      network: this.#networkPort(life),
      application: this.#applicationPort(life),
      clock: this.#clock(life),
      params: w.params,
      start: { height, validatorSet, lastCommit: store.commit(height - 1) ?? EMPTY_COMMIT },
      evidence: {
        report: (ev) => {
          if (!life.alive) return;
          w.trace.record(TAG.evidence, this.index, ev.kind === 'duplicate-vote' ? 1 : 2);
          if (w.trace.verbose) {
            const v = w.indexOf(evidenceValidator(ev));
            const at =
              ev.kind === 'duplicate-vote'
                ? `h=${ev.voteA.vote.height} r=${ev.voteA.vote.round} ${ev.voteA.vote.type}`
                : `h=${ev.proposalA.proposal.height} r=${ev.proposalA.proposal.round}`;
            w.trace.line(
              `${stamp(w)} evidence node ${this.index} reports ${ev.kind} by validator ${v} (${at})`,
            );
          }
          if (this.honest) w.checkers.onEvidence(this.index, ev);
          this.#addEvidence(life, ev, undefined);
        },
      },
      verifySignature: w.oracle.verify,
      onHalt: (error) => {
        if (life.alive && this.honest)
          w.checkers.fail('crash', 'crash', `node ${this.index} halted: ${error.message}`);
      },
      ...(w.scenario.mutation === undefined ? {} : { mutation: w.scenario.mutation }),
    });
    life.engine = engine;
    w.network.attach(this.index, (from, bytes) => this.#deliver(life, from, bytes));
    if (this.honest) await this.#fromWal(life, height);
    await engine.start();
    if (life.alive) this.#broadcast(encodeWire({ kind: 'status', height, stuck: 0 }));
  }

  /** Power is cut now: memory is gone, the WAL keeps only what was synced. */
  kill(reason: string): void {
    const life = this.#life;
    if (life === undefined || !life.alive) return;
    const w = this.#w;
    life.alive = false;
    life.crashPoint = undefined;
    w.network.attach(this.index, undefined);
    void life.engine?.stop();
    this.disk.wal = this.disk.wal.crash();
    w.checkers.onCrash(this.index);
    w.counters.crashes++;
    w.trace.record(TAG.crash, this.index, this.decided);
    if (w.trace.verbose)
      w.trace.line(`${stamp(w)} crash node ${this.index} (${reason}) at height ${this.decided + 1}`);
    w.onKilled(this);
  }

  /** The node crashes at its `countdown`-th next storage operation (before or after applying it). */
  armCrash(countdown: number, applyFirst: boolean): void {
    const life = this.#life;
    if (life?.alive === true) life.crashPoint = { countdown, applyFirst };
  }

  disarm(): void {
    if (this.#life !== undefined) this.#life.crashPoint = undefined;
  }

  get armed(): boolean {
    return this.#life?.crashPoint !== undefined;
  }

  /** A storage operation of incarnation `life`: where armed crash points strike. */
  #op<T>(life: Life, op: () => T | Promise<T>): Promise<T> {
    if (!life.alive) return never();
    const cp = life.crashPoint;
    if (cp !== undefined && cp.countdown-- <= 0) {
      if (!cp.applyFirst) {
        this.kill('crash point, before a write');
        return never();
      }
      return Promise.resolve(op()).then(() => {
        this.kill('crash point, after a write');
        return never<T>();
      });
    }
    return Promise.resolve(op());
  }

  // ------------------------------------------------------------------ ports

  async #guardedSigner(life: Life): Promise<Signer> {
    const disk = this.disk.signerState;
    const store: SignerStateStore = {
      load: () => disk.load(),
      save: (state: LastSignState) => this.#op(life, () => disk.save(state)),
    };
    const { oracle, checkers } = this.#w;
    // The production signer; with the fast scheme it signs with the simulator's stand-in.
    const inner = await createSigner(this.#keySeed, store, oracle.scheme === 'ed25519' ? undefined : oracle);
    return {
      publicKey: inner.publicKey,
      address: inner.address,
      sign: async (request) => {
        if (!life.alive) return never();
        const signature = await inner.sign(request);
        if (!life.alive) return never();
        oracle.recordSigned(inner.publicKey, request.signBytes, signature);
        checkers.onHonestSign(this.index, request);
        return signature;
      },
    };
  }

  #rawSigner(): Signer {
    const { oracle } = this.#w;
    return {
      publicKey: this.publicKey,
      address: this.address,
      sign: async (request) => oracle.sign(this.#keySeed, this.publicKey, request.signBytes),
    };
  }

  #walPort(life: Life): ConsensusWal {
    return {
      append: (data, options) =>
        this.#op(life, () => {
          if (this.honest) this.#tap(life, data);
          this.#walBytes += data.length;
          return this.disk.wal.append(data, options);
        }),
      writeEndHeight: (height) =>
        this.#op(life, () => {
          this.#w.onWalHeight(this, height, this.#walBytes);
          this.#walBytes = 0;
          return this.disk.wal.writeEndHeight(height);
        }),
      recordsAfterEndHeight: (height) => (life.alive ? this.disk.wal.recordsAfterEndHeight(height) : never()),
      sync: () => this.#op(life, () => this.disk.wal.sync()),
      close: () => (life.alive ? this.disk.wal.close() : never()),
    };
  }

  #blockStorePort(life: Life): ConsensusBlockStore {
    const store = this.disk.blocks;
    return {
      height: () => store.height(),
      saveBlock: (block, commit) =>
        this.#op(life, async () => {
          const hash = blockHash(block);
          const hex = toHex(hash);
          store.save(block, commit, hex);
          this.#onDecided(life, block, commit, hash, hex);
          await this.#w.checkers.onDecide(this.index, block, commit);
        }),
    };
  }

  #applicationPort(life: Life): ConsensusApplication {
    const app = life.app;
    const w = this.#w;
    return {
      buildBlock: (request) => app.buildBlock(request),
      validateBlock: (block) => app.validateBlock(block),
      finalizeBlock: (block, commit) =>
        this.#op(life, async () => {
          const result = await app.finalizeBlock(block, commit);
          if (this.honest) {
            w.checkers.checkState(this.index, app.height(), app.stateHash());
            w.checkers.checkNextSet(this.index, app.height() + 1, result.nextValidatorSet);
          }
          return result;
        }),
    };
  }

  #clock(life: Life): Clock {
    const w = this.#w;
    const offset = w.scenario.clockOffsetsMs[this.index] ?? 0;
    return {
      now: () => w.nowMs() + offset,
      setTimer: (ms, fn) => {
        const ev = w.queue.schedule(ms, () => {
          if (!life.alive) return;
          w.trace.record(TAG.timer, this.index, ms);
          fn();
        });
        return () => {
          ev.cancelled = true;
        };
      },
    };
  }

  #networkPort(life: Life): ConsensusNetwork {
    return {
      broadcastProposal: (sp: SignedProposal, block: Block) => {
        if (!life.alive) return;
        const p = sp.proposal;
        life.blocks.set(toHex(p.blockHash), block);
        if (this.byzantine !== undefined) {
          this.byzantine.onProposal(sp, block);
          return;
        }
        const m: WireMessage = { kind: 'proposal', proposal: sp, block };
        const bytes = encodeWire(m);
        relay(life, bytes, m, p.height, p.round);
        this.#broadcast(bytes);
      },
      broadcastVote: (sv: SignedVote) => {
        if (!life.alive) return;
        if (this.byzantine !== undefined) {
          this.byzantine.onVote(sv);
          return;
        }
        const v = sv.vote;
        const m: WireMessage = { kind: 'vote', vote: sv };
        const bytes = encodeWire(m);
        relay(life, bytes, m, v.height, v.round);
        this.#broadcast(bytes);
      },
      fetchBlock: async (hash: Uint8Array) => {
        if (life.alive) this.#broadcast(encodeWire({ kind: 'get-block', hash }));
        // Answers arrive as block messages (engine.receiveBlock).
        return undefined;
      },
    };
  }

  // ------------------------------------------------------------------ network

  #send(to: number, bytes: Uint8Array): void {
    const w = this.#w;
    w.counters.messagesSent++;
    w.network.send(this.index, to, bytes);
  }

  #broadcast(bytes: Uint8Array): void {
    const w = this.#w;
    w.trace.bytes(bytes);
    w.counters.messagesSent += w.scenario.validators - 1;
    w.network.broadcast(this.index, bytes);
  }

  #deliver(life: Life, from: number, bytes: Uint8Array): void {
    const w = this.#w;
    if (!life.alive) return;
    w.trace.record(TAG.deliver, from, this.index, bytes.length);
    let m = decoded.get(bytes);
    if (m === undefined) {
      try {
        m = decodeWire(bytes, w.chainId);
      } catch {
        m = null;
      }
      decoded.set(bytes, m);
    }
    if (m === null) {
      // [REJECT] does not decode or fails the gossip checks: dropped, nothing else happens.
      w.counters.messagesRejected++;
      w.trace.record(TAG.rejected, from, this.index);
      return;
    }
    const engine = life.engine;
    if (engine === undefined) return;
    switch (m.kind) {
      case 'proposal': {
        const h = m.proposal.proposal.height;
        if (h > life.peerHeight) life.peerHeight = h;
        this.byzantine?.seeBlock(m.block);
        this.byzantine?.onPeerProposal(m.proposal);
        this.byzantine?.onPeerMessage(h, m.proposal.proposal.round);
        if (h > this.decided) {
          life.blocks.set(toHex(m.proposal.proposal.blockHash), m.block);
          relay(life, bytes, m, h, m.proposal.proposal.round);
        }
        void engine.receiveProposal(m.proposal, m.block);
        return;
      }
      case 'vote': {
        const h = m.vote.vote.height;
        this.byzantine?.onPeerMessage(h, m.vote.vote.round);
        if (h > this.decided) {
          if (h > life.peerHeight && h < this.decided + 1000) life.peerHeight = h;
          if (h <= this.decided + 2) relay(life, bytes, m, h, m.vote.vote.round);
        }
        void engine.receiveVote(m.vote);
        return;
      }
      case 'block':
        if (m.block.header.height > this.decided) life.blocks.set(toHex(blockHash(m.block)), m.block);
        void engine.receiveBlock(m.block);
        return;
      case 'get-block': {
        const hex = toHex(m.hash);
        const block = life.blocks.get(hex) ?? this.disk.blocks.byHash(hex);
        if (block !== undefined) this.#send(from, encodeWire({ kind: 'block', block }));
        return;
      }
      case 'status':
        if (m.height > life.peerHeight && m.height < this.decided + 1000) life.peerHeight = m.height;
        this.#catchUp(life, from, m.height, m.stuck);
        return;
      case 'commit': {
        const h = m.block.header.height;
        if (h <= this.decided || h > this.decided + 4 * SYNC_BATCH) return;
        life.synced.set(h, { block: m.block, commit: m.commit });
        if (!life.syncing && h === this.decided + 1) {
          this.#sync(life).catch((err: unknown) => {
            w.checkers.fail('crash', 'crash', `node ${this.index} block sync: ${(err as Error).message}`);
          });
        }
        return;
      }
      case 'evidence':
        this.#addEvidence(life, m.evidence, from);
        return;
    }
  }

  /**
   * Evidence from our engine (`from` undefined) or from peer `from` goes to
   * our pool, which verifies it against our chain. An honest node gossips
   * what its pool newly accepts: its own reports to every peer, evidence
   * from a peer to a few others (and everyone re-gossips pending evidence on
   * its ticks). A Byzantine node keeps what it has to itself.
   */
  #addEvidence(life: Life, ev: Evidence, from: number | undefined): void {
    const pool = life.app.evidence;
    if (pool === undefined || !life.alive) return;
    const w = this.#w;
    const result = pool.add(ev);
    w.trace.record(TAG.pool, this.index, from ?? -1, POOL_STATUS[result.status]);
    if (!this.honest) return;
    w.checkers.onPoolAdd(this.index, ev, result);
    if (result.status === 'invalid') {
      w.counters.evidenceRefused++;
      if (w.trace.verbose && from !== undefined) {
        w.trace.line(
          `${stamp(w)} evidence from node ${from} refused by node ${this.index}: ${result.problem.code} (${result.problem.reason})`,
        );
      }
      return;
    }
    if (result.status !== 'added') return;
    const bytes = encodeWire({ kind: 'evidence', evidence: ev });
    if (from === undefined) {
      w.counters.evidenceGossip += w.scenario.validators - 1;
      this.#broadcast(bytes);
      return;
    }
    for (const to of this.#fanout(EVIDENCE_FANOUT, from)) {
      w.counters.evidenceGossip++;
      this.#send(to, bytes);
    }
  }

  /** Up to `k` random peers (other than ourselves and `except`). */
  #fanout(k: number, except = -1): number[] {
    const peers: number[] = [];
    for (let i = 0; i < this.#w.scenario.validators; i++) if (i !== this.index && i !== except) peers.push(i);
    return this.#rng.shuffle(peers).slice(0, k);
  }

  /**
   * Block sync, as a node that fell behind does it: verify the next
   * height's block against its commit (more than 2/3 of the height's power)
   * and the application, then stop consensus, store and execute the blocks,
   * and start consensus again at the new height. Needed when the node cannot
   * decide by itself (e.g. the commit holds an equivocator's vote the node saw
   * the other version of, and the others have moved on).
   */
  async #sync(life: Life): Promise<void> {
    const w = this.#w;
    const first = this.decided + 1;
    const item = life.synced.get(first);
    const engine = life.engine;
    if (item === undefined || engine === undefined || !life.alive || life.syncing) return;
    const undecided = (): boolean => {
      const st = engine.status();
      return life.alive && this.decided + 1 === first && st?.decision === null && st.height === first;
    };
    if (!undecided()) return;
    life.syncing = true;
    const valid = await this.#verifySynced(life.app, item.block, item.commit);
    // The engine may have decided the height while the block was being checked.
    if (!valid || !undecided()) {
      if (!valid) life.synced.delete(first);
      life.syncing = false;
      return;
    }
    // Consensus stops: its memory of this height is gone (its WAL is not replayed: the height is decided).
    life.alive = false;
    w.network.attach(this.index, undefined);
    void engine.stop();
    w.checkers.onCrash(this.index, false);
    const store = this.disk.blocks;
    let h = first;
    for (;;) {
      const next = life.synced.get(h);
      if (next === undefined || (h > first && !(await this.#verifySynced(life.app, next.block, next.commit))))
        break;
      const hash = blockHash(next.block);
      const hex = toHex(hash);
      store.save(next.block, next.commit, hex);
      this.#onDecided(life, next.block, next.commit, hash, hex);
      await w.checkers.onDecide(this.index, next.block, next.commit);
      await life.app.finalizeBlock(next.block, next.commit);
      if (this.honest) w.checkers.checkState(this.index, life.app.height(), life.app.stateHash());
      h++;
    }
    w.counters.syncs++;
    w.trace.record(TAG.sync, this.index, first, h - 1);
    if (w.trace.verbose) {
      w.trace.line(
        `${stamp(w)} sync node ${this.index} heights ${first}..${h - 1} (block sync, consensus restarts)`,
      );
    }
    await this.start(life.app);
  }

  async #verifySynced(app: SimApplication, block: Block, commit: Commit): Promise<boolean> {
    const h = block.header.height;
    const set = app.validatorSetAt(h);
    if (set === undefined || app.height() !== h - 1) return false;
    const w = this.#w;
    if (
      commitProblem(w.chainId, set, commit, {
        height: h,
        blockHash: blockHash(block),
        verifySignature: w.oracle.verify,
      }) !== undefined
    )
      return false;
    return (await app.blockProblem(block)) === undefined;
  }

  /**
   * A peer says it is deciding `height` (and has been stuck for `stuck`
   * ticks): if we decided it, help. When it is one height behind, with the
   * block and its commit's precommits, so that its engine decides by itself;
   * when it stays stuck, or is further behind, with block sync (blocks and
   * commits, up to SYNC_BATCH heights).
   */
  #catchUp(life: Life, to: number, height: number, stuck: number): void {
    const store = this.disk.blocks;
    if (height < 1 || height > store.height()) return;
    if (this.byzantine?.helpsCatchUp() === false) return;
    // Only a few of the peers that can help answer (each with probability 3 / (n − 1)).
    const n = this.#w.scenario.validators;
    if (n > 4 && !this.#rng.chance(3 / (n - 1))) return;
    this.#w.counters.catchUps++;
    // Block sync when the peer is stuck, or two or more heights behind (deciding one height at a
    // time, a node that fell behind may never catch up with a chain that runs as fast as it does).
    if (stuck >= 2 || store.height() >= height + 1) {
      const last = Math.min(store.height(), height + SYNC_BATCH - 1);
      for (let h = height; h <= last; h++) {
        this.#send(
          to,
          encodeWire({ kind: 'commit', block: store.block(h) as Block, commit: store.commit(h) as Commit }),
        );
      }
      return;
    }
    const block = store.block(height) as Block;
    const commit = store.commit(height) as Commit;
    this.#send(to, encodeWire({ kind: 'block', block }));
    const validators = life.app.validatorSetAt(height)?.validators ?? [];
    commit.signatures.forEach((cs, i) => {
      const v = validators[i];
      if (cs.flag === 'absent' || v === undefined) return;
      const vote: SignedVote = {
        vote: {
          type: 'precommit',
          height,
          round: commit.round,
          blockHash: cs.flag === 'commit' ? commit.blockHash : null,
          validatorAddress: v.address,
        },
        signature: cs.signature,
      };
      this.#send(to, encodeWire({ kind: 'vote', vote }));
    });
  }

  /** The gossip tick: announce our height; when stuck since the last tick, send our messages again. */
  tick(): void {
    const life = this.#life;
    if (life === undefined || !life.alive || life.engine === undefined) return;
    const height = this.decided + 1;
    const pos = this.position();
    const now = pos === undefined ? '' : `${pos.height}/${pos.round}`;
    life.stuck = now === life.lastTick ? life.stuck + 1 : 0;
    this.#broadcast(encodeWire({ kind: 'status', height, stuck: life.stuck }));
    if (!this.honest) {
      life.lastTick = now;
      return;
    }
    // Stuck: gossip again, backing off (after 1, 2, 4, 8, … ticks without progress).
    if (life.stuck > 0 && (life.stuck & (life.stuck - 1)) === 0) this.#regossip(life, height);
    life.lastTick = now;
    this.#regossipEvidence(life);
  }

  /**
   * Pending evidence goes to a few random peers on every tick, as evidence
   * gossip does (a peer that was down, or behind when it first arrived, gets
   * it this way; a restarted node's pool starts empty).
   */
  #regossipEvidence(life: Life): void {
    const pending = life.app.evidence?.pending();
    if (pending === undefined || pending.length === 0) return;
    const w = this.#w;
    const peers = this.#fanout(EVIDENCE_FANOUT);
    for (const ev of pending.slice(0, EVIDENCE_REGOSSIP_MAX)) {
      const bytes = encodeWire({ kind: 'evidence', evidence: ev });
      for (const to of peers) {
        w.counters.evidenceGossip++;
        this.#send(to, bytes);
      }
    }
  }

  /**
   * Sends the consensus messages we hold for `height` to a few random peers:
   * those of the rounds that matter to a stuck peer (the current and previous
   * round, and the rounds of our lock and valid value, whose prevotes are the
   * proof-of-lock a re-proposal needs).
   */
  #regossip(life: Life, height: number): void {
    const w = this.#w;
    const st = life.engine?.status();
    if (st === undefined || st.height !== height) return;
    const rounds = new Set([st.round, st.round - 1, st.lockedRound, st.validRound]);
    const n = w.scenario.validators;
    const peers: number[] = [];
    for (let i = 0; i < n; i++) if (i !== this.index) peers.push(i);
    const fanout = this.#rng.shuffle(peers).slice(0, REGOSSIP_FANOUT);
    let any = false;
    const sent = new Set<string>();
    for (const [bytes, at] of life.relay) {
      // [IGNORE] other heights and rounds, copies; [REJECT] never forward what does not verify.
      if (at.height !== height || !rounds.has(at.round)) continue;
      const key = fingerprint(bytes);
      if (sent.has(key) || !this.#verifies(life, bytes)) continue;
      sent.add(key);
      w.trace.bytes(bytes);
      for (const to of fanout) this.#send(to, bytes);
      any = true;
    }
    if (any) w.counters.regossips++;
  }

  /** A received consensus message's signature verifies under its validator's key. */
  #verifies(life: Life, bytes: Uint8Array): boolean {
    const m = decoded.get(bytes);
    const w = this.#w;
    if (m === undefined || m === null) return false;
    const height =
      m.kind === 'vote' ? m.vote.vote.height : m.kind === 'proposal' ? m.proposal.proposal.height : 0;
    const set = life.app.validatorSetAt(height);
    if (set === undefined) return false;
    if (m.kind === 'vote') {
      const v = set.validators[validatorIndex(set, m.vote.vote.validatorAddress)];
      return (
        v !== undefined && w.oracle.verify(v.pubKey, voteSignBytes(w.chainId, m.vote.vote), m.vote.signature)
      );
    }
    if (m.kind === 'proposal') {
      const p = m.proposal.proposal;
      const v = set.validators[validatorIndex(set, p.proposerAddress)];
      return (
        v !== undefined && w.oracle.verify(v.pubKey, proposalSignBytes(w.chainId, p), m.proposal.signature)
      );
    }
    return false;
  }

  #onDecided(life: Life, block: Block, commit: Commit, hash: Uint8Array, hex: string): void {
    const w = this.#w;
    const h = block.header.height;
    w.trace.record(TAG.decide, this.index, h, commit.round);
    w.trace.bytes(hash);
    if (w.trace.verbose) {
      w.trace.line(
        `${stamp(w)} decide node ${this.index} h=${h} r=${commit.round} block=${hex.slice(0, 12)}`,
      );
    }
    for (const [k, b] of life.blocks) if (b.header.height <= h) life.blocks.delete(k);
    for (const [k, mh] of life.relay) if (mh.height <= h) life.relay.delete(k);
    // Behind the others: ask for the next height as soon as it starts.
    if (life.peerHeight > h + 1) {
      const delay = w.scenario.timeouts.commitMs + 1;
      w.queue.schedule(delay, () => {
        if (life.alive && this.decided === h)
          this.#broadcast(encodeWire({ kind: 'status', height: h + 1, stuck: 0 }));
      });
    }
    w.onDecided(this, h);
  }

  // ------------------------------------------------------------------ what the node saw

  /**
   * The WAL tap: every input the engine accepts at its current height goes to
   * the WAL first. Records that may hold a Byzantine validator's message (its
   * address bytes appear) are decoded and given to the evidence checker.
   */
  #tap(life: Life, data: Uint8Array): void {
    const addrs = this.#w.byzantineAddresses;
    if (addrs.length === 0) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!addrs.some((a) => buf.includes(a))) return;
    const st = life.engine?.status();
    if (st === undefined) return;
    this.#seen(decodeWalEntry(data), st.height);
  }

  /** The records the engine will replay at `height` hold what the new incarnation has seen. */
  /**
   * What the new incarnation knows from its WAL (what the engine replays at
   * `height`): the messages it saw (for the evidence checker), and the
   * consensus messages it can relay again (a restarted node still gossips
   * the votes that made its lock).
   */
  async #fromWal(life: Life, height: number): Promise<void> {
    const records = await this.disk.wal.recordsAfterEndHeight(height - 1);
    for (const r of records ?? []) {
      const e = decodeWalEntry(r.data);
      let m: WireMessage | undefined;
      let round = 0;
      if (e.kind === 'vote' && e.vote.vote.height === height) {
        m = { kind: 'vote', vote: e.vote };
        round = e.vote.vote.round;
      } else if (e.kind === 'proposal' && e.block !== null && e.proposal.proposal.height === height) {
        m = { kind: 'proposal', proposal: e.proposal, block: e.block };
        round = e.proposal.proposal.round;
      }
      if (m === undefined) continue;
      relay(life, encodeWire(m), m, height, round);
      if (this.#w.byzantineAddresses.length > 0) this.#seen(e, height);
    }
  }

  #seen(e: WalEntry, height: number): void {
    let m: SeenMessage | undefined;
    const w = this.#w;
    if (e.kind === 'vote') {
      const v = e.vote.vote;
      if (v.height !== height) return;
      m = {
        kind: 'vote',
        validator: w.indexOf(v.validatorAddress),
        height: v.height,
        round: v.round,
        step: v.type,
        value: v.blockHash === null ? 'nil' : toHex(v.blockHash),
      };
    } else if (e.kind === 'proposal') {
      const p = e.proposal.proposal;
      if (p.height !== height) return;
      m = {
        kind: 'proposal',
        validator: w.indexOf(p.proposerAddress),
        height: p.height,
        round: p.round,
        step: 'proposal',
        value: toHex(p.blockHash),
      };
    }
    if (m === undefined || m.validator < 0) return;
    w.checkers.onSeen(this.index, m, this.decided);
  }
}

/** Keeps a consensus message for re-gossip. */
function relay(life: Life, bytes: Uint8Array, m: WireMessage, height: number, round: number): void {
  if (!decoded.has(bytes)) decoded.set(bytes, m);
  life.relay.set(bytes, { height, round });
}

/** A 64-bit content hash of `bytes` (two murmur-style lanes), as a string key. */
function fingerprint(bytes: Uint8Array): string {
  let a = 0x9747b28c ^ bytes.length;
  let b = 0x85ebca6b;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ (bytes[i] as number), 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ a, 0x1b873593) + i;
  }
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}`;
}

function stamp(w: SimWorld): string {
  return `t=${String(w.queue.now).padStart(7)}`;
}
