/**
 * One simulated validator: the host of a @synod/node `createNode` — the
 * simulator's second host of the node, next to the daemon. It gives the
 * node its ports (the disk's real stores with crash points, the simulated
 * transport, the simulated clock, the production signer, @synod/ledger as
 * the application) and watches it through the node's events and the disk's
 * WAL tap; it holds none of the node's logic.
 *
 * A crash drops the incarnation where it stands (its leftover work freezes:
 * see disk.ts) and cuts the WAL to its synced records; a restart creates a
 * new node over the same disk, which runs the handshake, block sync and WAL
 * replay as any restarted node does. A Byzantine validator's node is a
 * `createNode` too, whose transport and signer its `ByzantineActor` holds.
 */
import { decodeWalEntry, type WalEntry } from '@synod/consensus';
import { addressFromPublicKey, toHex } from '@synod/crypto';
import { infractionKey } from '@synod/fault-detector';
import { Ledger } from '@synod/ledger';
import {
  type BlockDecidedEvent,
  createNode,
  type NodeInit,
  type NodeMessages,
  type SynodNode,
} from '@synod/node';
import { createSigner, type NodeStorage } from '@synod/storage';
import {
  type Block,
  type Clock,
  type Commit,
  type Evidence,
  evidenceValidator,
  type Signer,
} from '@synod/types';
import { type ByzantineAction, ByzantineActor, byzantineTransport } from './byzantine.js';
import type { SimChain, ValidatorKey } from './chain.js';
import type { Checkers, SeenMessage } from './checkers.js';
import { type Life, SimDisk } from './disk.js';
import type { EventQueue } from './event-queue.js';
import { corruptBlock, withEvidence, withForgedEvidence, withForgedLastCommit } from './forge.js';
import type { SimNetwork } from './network.js';
import type { ReferenceChain, SlashingView } from './reference.js';
import { slashingView, validatorPubKeys } from './reference.js';
import type { Rng } from './rng.js';
import type { ByzantineProfile, Scenario } from './scenario.js';
import type { SignatureOracle } from './signatures.js';
import type { Trace } from './trace.js';
import { type Packet, SimTransport, type TransportWorld } from './transport.js';

/** Trace record tags (mixed into the run's hash; the transport's are in transport.ts). */
export const TAG = {
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
  phase: 14,
  sync: 16,
  tx: 20,
} as const;

/** Counters of a run kept by the hosts (all deterministic). */
export interface SimCounters {
  crashes: number;
  restarts: number;
  walLosses: number;
  partitions: number;
  storms: number;
  /** Block syncs the nodes completed (at start or from their liveness loop). */
  syncs: number;
  /** Evidence the nodes' pools accepted (from their consensus or from peers). */
  evidenceAdded: number;
  byzantineActions: Record<ByzantineAction, number>;
}

/** What nodes share: the simulated world. */
export interface SimWorld {
  readonly queue: EventQueue;
  readonly network: SimNetwork<Packet>;
  readonly transport: TransportWorld;
  readonly chain: SimChain;
  readonly scenario: Scenario;
  readonly oracle: SignatureOracle;
  readonly checkers: Checkers;
  readonly reference: ReferenceChain;
  readonly trace: Trace;
  readonly counters: SimCounters;
  /** Addresses of the Byzantine validators (a cheap pre-filter for the WAL tap). */
  readonly byzantineAddresses: readonly Buffer[];
  /** The node's `livenessIntervalMs`. */
  readonly livenessIntervalMs: number;
  /** Node (= genesis validator) index of an address, or −1. */
  indexOf(address: Uint8Array): number;
  /** Wall-clock-free time of the simulated world: genesis time + simulated ms. */
  nowMs(): number;
  /** A node died (crash or crash point hit). */
  onKilled(node: SimNode): void;
  /** A node executed a block (its `block` event). */
  onBlock(node: SimNode, event: BlockDecidedEvent): void;
  /** Blocks a node's previous incarnation saved without announcing them (it crashed in between). */
  onSavedBlocks(node: SimNode, blocks: readonly { readonly block: Block; readonly commit: Commit }[]): void;
  /** A node's WAL closed `height` after `bytes` bytes of records appended for it. */
  onWalHeight(node: SimNode, height: number, bytes: number): void;
  /** A node's work failed outside the node (a host bug): the run fails. */
  fail(what: string, error: unknown): void;
}

/** One incarnation: the node and what its host holds of it. */
interface Incarnation {
  readonly life: Life;
  readonly node: SynodNode;
  readonly ledger: Ledger;
  readonly storage: NodeStorage;
  readonly transport: SimTransport;
}

/** A node's standing at the end of a run, for the final checks. */
export interface NodeView {
  readonly height: number;
  readonly slashing: SlashingView;
  /** Evidence its pool holds that no block it executed carried. */
  pendingEvidence(): Promise<readonly Evidence[]>;
}

export class SimNode {
  readonly index: number;
  readonly key: ValidatorKey;
  readonly disk: SimDisk;
  readonly byzantine: ByzantineActor | undefined;
  readonly #w: SimWorld;
  readonly #rng: Rng;
  /** The current incarnation's life (set first thing at start) and, once created, the incarnation. */
  #life: Life | undefined;
  #current: Incarnation | undefined;
  #lives = 0;
  /** Highest height this node announced (its `block` events, or saved blocks replayed to the checkers). */
  #height = 0;
  /** Bytes appended to the WAL since its last end-height record (what a restart would replay). */
  #walBytes = 0;
  /** A Byzantine validator's node (held by its adversary, or one of its twins). */
  readonly #faulty: boolean;
  /** A Byzantine node's pending evidence (what its pool accepted), for its actor. */
  readonly #evidence: Evidence[] = [];

  private constructor(
    world: SimWorld,
    index: number,
    key: ValidatorKey,
    disk: SimDisk,
    rng: Rng,
    profile: ByzantineProfile | undefined,
    attackRng: Rng,
    faulty: boolean,
  ) {
    this.#w = world;
    this.#faulty = faulty;
    this.index = index;
    this.key = key;
    this.disk = disk;
    this.#rng = rng;
    this.byzantine =
      profile === undefined
        ? undefined
        : new ByzantineActor(
            {
              index,
              n: world.scenario.validators,
              chainId: world.chain.genesis.chainId,
              keySeed: key.seed,
              publicKey: key.publicKey,
              address: key.address,
              rng: rng.fork(),
              attackRng,
              oracle: world.oracle,
              send: (to, m) => this.#current?.transport.sendGossip([to], m.topic, m.bytes),
              decided: () => this.#height,
              decidedBlock: (h) => world.reference.blockAt(h),
              validatorSetAt: (h) => world.reference.validatorSetAt(h),
              pendingEvidence: () => this.#pendingOwnEvidence(),
              tombstoned: () => world.reference.slashing.status(key.address)?.tombstoned === true,
              corrupt: (block) => corruptBlock(block, world.chain, world.reference),
              forge: (block, what) =>
                what === 'evidence'
                  ? withForgedEvidence(block, world.reference)
                  : withForgedLastCommit(block),
              withEvidence,
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

  static async create(
    world: SimWorld,
    index: number,
    key: ValidatorKey,
    rng: Rng,
    profile: ByzantineProfile | undefined,
    attackRng: Rng,
    faulty = profile !== undefined,
  ): Promise<SimNode> {
    return new SimNode(world, index, key, await SimDisk.create(), rng, profile, attackRng, faulty);
  }

  /**
   * Honest: neither a Byzantine validator's adversary-held node nor one of
   * the twins of a Byzantine validator (honest code, but one of two nodes
   * signing with the same key: see adversary.ts).
   */
  get honest(): boolean {
    return this.byzantine === undefined && !this.#faulty;
  }

  /** Up: started (possibly still starting) and not crashed since. */
  get alive(): boolean {
    return this.#life?.alive === true;
  }

  /** Heights this node has decided (announced). */
  get decided(): number {
    return this.#height;
  }

  /** The running node, when up. */
  get node(): SynodNode | undefined {
    const c = this.#current;
    return c?.life.alive === true ? c.node : undefined;
  }

  /** (height, round) of its engine, when it runs. */
  position(): { readonly height: number; readonly round: number } | undefined {
    const st = this.node?.status().consensus;
    return st === undefined ? undefined : { height: st.height, round: st.round };
  }

  /** What the final checks read of this node, when it is up. */
  view(): NodeView | undefined {
    const c = this.#current;
    if (c === undefined || !c.life.alive) return undefined;
    const pubKeys = validatorPubKeys(this.#w.chain);
    return {
      height: c.node.status().height,
      slashing: slashingView(c.ledger, pubKeys),
      pendingEvidence: async () => {
        const out: Evidence[] = [];
        for (const ev of await c.storage.evidence.listPending())
          if (!c.ledger.isTombstoned(evidenceValidator(ev))) out.push(ev);
        return out;
      },
    };
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts an incarnation over the disk: a new node, whose start runs the handshake, block sync and WAL replay. */
  async start(): Promise<void> {
    const w = this.#w;
    const life: Life = {
      id: ++this.#lives,
      alive: true,
      crashPoint: undefined,
      kill: (reason) => this.kill(reason),
    };
    this.#life = life;
    this.#current = undefined;
    const storage = await this.disk.open(life, {
      onWalAppend: (data) => {
        if (this.honest) this.#tap(data);
        this.#walBytes += data.length;
      },
      onWalEndHeight: (height) => {
        w.onWalHeight(this, height, this.#walBytes);
        this.#walBytes = 0;
      },
    });
    // Blocks the last incarnation saved but did not announce (a crash between the two): decided all the same.
    const stored = storage.blocks.height();
    if (stored > this.#height) {
      const saved = [];
      for (let h = this.#height + 1; h <= stored; h++) {
        const block = await storage.blocks.loadBlock(h);
        const commit = await storage.blocks.loadCommit(h);
        if (block === undefined || commit === undefined) break;
        saved.push({ block, commit });
      }
      this.#height = stored;
      w.onSavedBlocks(this, saved);
    }
    if (this.honest && w.byzantineAddresses.length > 0) await this.#fromWal(stored + 1);
    const ledger = await Ledger.open({
      kv: storage.state.appState,
      syncWrites: false,
      verifySignature: w.chain.txSignatures.verify,
    });
    const transport = new SimTransport({
      world: w.transport,
      index: this.index,
      rng: this.#rng,
      alive: () => life.alive,
      relay: this.byzantine === undefined,
      ...(this.byzantine === undefined ? {} : { onMessage: (topic, m) => this.byzantine?.sees(topic, m) }),
      onPublished: (topic, m) => {
        if (topic !== 'proposals' || life.walLossAtProposal !== true || life.firstProposalSigned !== true)
          return;
        if ((m as NodeMessages['proposals']).signedProposal.proposal.round !== 0) return;
        life.walLossAtProposal = false;
        this.disk.loseWalAtNextCrash();
        this.kill('power cut just after its round-0 proposal went out, WAL lost');
      },
    });
    const signer = this.honest ? await this.#guardedSigner(storage, life) : this.#rawSigner();
    const node = createNode(
      {
        storage,
        application: ledger,
        transport: this.byzantine === undefined ? transport : byzantineTransport(transport, this.byzantine),
        clock: this.#clock(life),
        signer,
        verifySignature: w.oracle.verify,
      },
      this.#init(),
    );
    const c: Incarnation = { life, node, ledger, storage, transport };
    if (!life.alive) return;
    this.#current = c;
    this.#watch(c);
    w.network.attach(this.index, (from, packet) => transport.receive(from, packet));
    await node.start();
  }

  /** The node's configuration. */
  #init(): NodeInit {
    const w = this.#w;
    return { genesis: w.chain.genesis, livenessIntervalMs: w.livenessIntervalMs };
  }

  /** Power is cut now: memory is gone, the WAL keeps only what was synced. */
  kill(reason: string): void {
    const life = this.#life;
    if (life === undefined || !life.alive) return;
    const w = this.#w;
    life.alive = false;
    life.crashPoint = undefined;
    life.walLossAtProposal = false;
    w.network.attach(this.index, undefined);
    this.disk.crash();
    w.checkers.onCrash(this.index);
    w.counters.crashes++;
    w.trace.record(TAG.crash, this.index, this.#height);
    if (w.trace.verbose)
      w.trace.line(`${stamp(w)} crash node ${this.index} (${reason}) at height ${this.#height + 1}`);
    w.onKilled(this);
  }

  /** The node crashes at its `countdown`-th next write (before or after applying it). */
  armCrash(countdown: number, applyFirst: boolean): void {
    const life = this.#life;
    if (life?.alive === true) life.crashPoint = { countdown, applyFirst };
  }

  disarm(): void {
    if (this.#life !== undefined) {
      this.#life.crashPoint = undefined;
      this.#life.walLossAtProposal = false;
    }
  }

  get armed(): boolean {
    return this.#life?.crashPoint !== undefined || this.#life?.walLossAtProposal === true;
  }

  /** The node dies as soon as its next round-0 proposal has gone out, and its WAL is lost. */
  armWalLoss(): void {
    const life = this.#life;
    if (life?.alive === true) life.walLossAtProposal = true;
  }

  // ------------------------------------------------------------------ ports

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

  /** The production signer (with the fast scheme: over the simulator's stand-in), tapped for the double-sign checker. */
  async #guardedSigner(storage: NodeStorage, life: Life): Promise<Signer> {
    const { oracle, checkers } = this.#w;
    const inner = await createSigner(
      this.key.seed,
      storage.signerState,
      oracle.scheme === 'ed25519' ? undefined : oracle,
    );
    return {
      publicKey: inner.publicKey,
      address: inner.address,
      sign: async (request) => {
        // A round-0 proposal that is the node's first signature at its height: what an armed WAL
        // loss waits for (the node then forgets nothing but that proposal).
        const before = inner.lastSignState();
        const first =
          request.step === 'proposal' && request.round === 0 && (before?.height ?? 0) < request.height;
        const signature = await inner.sign(request);
        life.firstProposalSigned = first;
        if (!life.alive) return new Promise<Uint8Array>(() => undefined);
        oracle.recordSigned(inner.publicKey, request.signBytes, signature);
        checkers.onHonestSign(this.index, request);
        return signature;
      },
    };
  }

  /** A Byzantine validator signs with its raw key: no double-sign guard. */
  #rawSigner(): Signer {
    const { oracle } = this.#w;
    return {
      publicKey: this.key.publicKey,
      address: addressFromPublicKey(this.key.publicKey),
      sign: async (request) => oracle.sign(this.key.seed, this.key.publicKey, request.signBytes),
    };
  }

  #pendingOwnEvidence(): readonly Evidence[] {
    const committed = new Set(this.#w.reference.committedEvidence().map(infractionKey));
    return this.#evidence.filter((ev) => !committed.has(infractionKey(ev)));
  }

  // ------------------------------------------------------------------ what the node does

  #watch(c: Incarnation): void {
    const w = this.#w;
    const { node, life } = c;
    node.on('block', (e) => {
      if (!life.alive) return;
      this.#height = e.height;
      w.trace.record(TAG.decide, this.index, e.height, e.commit.round);
      w.trace.bytes(e.hash);
      if (w.trace.verbose) {
        w.trace.line(
          `${stamp(w)} decide node ${this.index} h=${e.height} r=${e.commit.round} block=${toHex(e.hash).slice(0, 12)} txs=${e.block.txs.length} evidence=${e.block.evidence.length}`,
        );
      }
      w.onBlock(this, e);
    });
    node.on('evidence', (e) => {
      if (!life.alive) return;
      const ev = e.evidence;
      const from = e.source === 'local' ? -1 : Number(e.source.peer);
      const local = from < 0;
      w.counters.evidenceAdded++;
      w.trace.record(TAG.evidence, this.index, from);
      if (w.trace.verbose) {
        const at =
          ev.kind === 'duplicate-vote'
            ? `h=${ev.voteA.vote.height} r=${ev.voteA.vote.round} ${ev.voteA.vote.type}`
            : `h=${ev.proposalA.proposal.height} r=${ev.proposalA.proposal.round}`;
        w.trace.line(
          `${stamp(w)} evidence node ${this.index} ${local ? 'reports' : `takes from node ${from}`} ${ev.kind} by validator ${w.indexOf(evidenceValidator(ev))} (${at})`,
        );
      }
      if (!this.honest) {
        this.#evidence.push(ev);
        if (this.#evidence.length > 64) this.#evidence.shift();
        return;
      }
      if (local) w.checkers.onEvidence(this.index, ev);
      w.checkers.onPoolAdd(this.index, ev);
    });
    node.on('sync', (e) => {
      if (!life.alive) return;
      // The engine stopped for block sync: its memory of the height is gone (its pool is not).
      w.checkers.onCrash(this.index, false);
      if (e.done) w.counters.syncs++;
      w.trace.record(TAG.sync, this.index, e.from, e.height, e.done ? 1 : 0);
      if (w.trace.verbose && e.done)
        w.trace.line(`${stamp(w)} sync node ${this.index} heights ${e.from}..${e.height} (block sync)`);
    });
    node.on('halted', (e) => {
      if (life.alive && this.honest) w.fail(`node ${this.index} halted`, e.error);
    });
    node.on('security-alert', (a) => {
      if (life.alive && this.honest)
        w.fail(
          `node ${this.index} raised the security alert`,
          new Error(`conflicting commits at height ${a.height}`),
        );
    });
  }

  // ------------------------------------------------------------------ what the node saw

  /**
   * The WAL tap: every input the engine accepts at its current height goes to
   * the WAL first. Records that may hold a Byzantine validator's message (its
   * address bytes appear) are decoded and given to the evidence checker.
   */
  #tap(data: Uint8Array): void {
    const addrs = this.#w.byzantineAddresses;
    if (addrs.length === 0) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!addrs.some((a) => buf.includes(a))) return;
    const st = this.#current?.node.status().consensus;
    if (st === undefined) return;
    this.#seen(decodeWalEntry(data), st.height);
  }

  /** What the new incarnation knows from its WAL (what its engine replays at `height`). */
  async #fromWal(height: number): Promise<void> {
    const records = await this.disk.wal.recordsAfterEndHeight(height - 1);
    for (const r of records ?? []) this.#seen(decodeWalEntry(r.data), height);
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
    w.checkers.onSeen(this.index, m, this.#height);
  }
}

function stamp(w: SimWorld): string {
  return `t=${String(w.queue.now).padStart(7)}`;
}
