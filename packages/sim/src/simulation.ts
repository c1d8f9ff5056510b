import { getHeapStatistics } from 'node:v8';
import { toHex } from '@synod/crypto';
import type { BlockDecidedEvent } from '@synod/node';
import type { Block, Commit } from '@synod/types';
import { Adversary, chooseAdversary } from './adversary.js';
import type { ByzantineAction } from './byzantine.js';
import { GENESIS_TIME_MS, SIM_CHAIN_ID, SimChain, simConsensusParams, validatorKeys } from './chain.js';
import { type AppliedPunishment, Checkers, type PunishmentStats, type SimFailure } from './checkers.js';
import { EventQueue } from './event-queue.js';
import { SimNetwork } from './network.js';
import { type SimCounters, SimNode, type SimWorld, TAG } from './node.js';
import { ReferenceChain, type SlashingView } from './reference.js';
import { Rng } from './rng.js';
import {
  deriveScenario,
  describeScenario,
  NO_DEVIATIONS,
  type Scenario,
  type SimOptions,
  swarm,
  validatorRange,
} from './scenario.js';
import { SignatureOracle } from './signatures.js';
import { Trace } from './trace.js';
import {
  emptyTransportCounters,
  type Packet,
  type SimProtocol,
  type TransportCounters,
  type TransportWorld,
} from './transport.js';
import { LIVENESS_TXS, type Submission, type TxCounts, TxWorkload } from './workload.js';

/** Counts of one run. */
export interface SimStats {
  /** Heights decided (by at least one node). */
  readonly heights: number;
  /** Sum over decided heights of the decision round (0 when every height decided in round 0). */
  readonly extraRounds: number;
  readonly maxRound: number;
  /** Packets on the simulated network (gossip, requests, replies). */
  readonly messagesSent: number;
  readonly messagesDelivered: number;
  readonly messagesDropped: number;
  /**
   * Gossip: copies sent (publishes and relays), relayed, relays spared (the peer had already seen
   * the message: IDONTWANT), dropped as seen, rejected, ignored (out of window).
   */
  readonly gossipSent: number;
  readonly gossipRelayed: number;
  readonly gossipSpared: number;
  readonly gossipDuplicates: number;
  readonly gossipRejected: number;
  readonly gossipIgnored: number;
  /** Requests by protocol, and those that timed out. */
  readonly requests: Readonly<Record<SimProtocol, number>>;
  readonly requestTimeouts: number;
  readonly crashes: number;
  readonly restarts: number;
  /** Crashes that lost the node's WAL (swarm's WAL loss). */
  readonly walLosses: number;
  readonly partitions: number;
  readonly storms: number;
  /** Block syncs the nodes completed (at start, or from their liveness loop). */
  readonly syncs: number;
  readonly byzantineActions: Readonly<Record<ByzantineAction, number>>;
  /** Evidence honest nodes' consensus reported (their pools accepted it). */
  readonly evidenceReports: number;
  /** Distinct infractions (validator, height, round, type) reported by honest nodes. */
  readonly infractions: number;
  /** Evidence the pools of all nodes accepted (reports and gossip). */
  readonly evidenceAdded: number;
  /** The transaction workload. */
  readonly txs: TxCounts;
  readonly events: number;
  readonly simulatedMs: number;
  /** When the liveness phase began (simulated ms). */
  readonly livenessStartMs: number;
  /** Heights decided in the safety phase. */
  readonly safetyHeights: number;
  /** Signatures verified with Ed25519 (the rest came from the shared cache). */
  readonly signaturesVerified: number;
  /** What the decided chain did to validators. */
  readonly punishments: PunishmentStats;
}

export interface SimNodeState {
  readonly index: number;
  readonly honest: boolean;
  readonly up: boolean;
  readonly decided: number;
  /** The node's app hash (hex), when it is up. */
  readonly stateHash: string | undefined;
  /**
   * The validators the node's ledger has punished (jailed, or with a
   * punishment on record), in validator order, when the node is up: what
   * that node believes about everyone.
   */
  readonly punished: readonly PunishedValidator[] | undefined;
}

/** A validator's punishment record in one node's ledger. */
export interface PunishedValidator {
  /** The validator (= node) index. */
  readonly validator: number;
  readonly equivocations: number;
  readonly downtimeJails: number;
  readonly jailed: boolean;
  readonly tombstoned: boolean;
  readonly totalBurned: bigint;
}

export interface SimFinalState {
  /** Highest decided height. */
  readonly height: number;
  /** Hash over the decided chain's block hashes. */
  readonly chainHash: string;
  readonly nodes: readonly SimNodeState[];
}

/**
 * One node's memory, per height.
 *
 * - The heap as the host saw it: V8's `used_heap_size` (`process.memoryUsage().heapUsed`
 *   without its resident-set read, which cost the bench 8 % of its CPU time; the whole
 *   process's JS heap: every node, the checkers, the reference) sampled each
 *   time the node decided a height. A host-side observation, outside the
 *   deterministic run: never mixed into the trace hash, nor part of `stats`.
 * - The node's own restart memory, deterministic: the bytes its engine
 *   appended to its WAL for each height (what a restart at that height
 *   replays; issue #11 item 8 bounds it).
 */
export interface NodeHeap {
  readonly index: number;
  /** (height, heapUsed bytes) at each height the node decided, in order. */
  readonly samples: readonly (readonly [number, number])[];
  /** The largest sample and the height it was taken at (0 and 0 without samples). */
  readonly peakBytes: number;
  readonly peakHeight: number;
  /** Mean growth per decided height from the first sample to the last (bytes; negative after a GC). */
  readonly growthPerHeight: number;
  /** Largest growth between two consecutive samples (bytes). */
  readonly maxStepBytes: number;
  /** The most WAL bytes the node appended for one height, and that height (0 and 0 before any). */
  readonly walMaxBytes: number;
  readonly walMaxHeight: number;
  /** Mean WAL bytes per height it closed (0 before any). */
  readonly walMeanBytes: number;
}

export interface SimResult {
  readonly seed: number;
  readonly scenario: Scenario;
  /** The derived options, one line (printed at the start of a run). */
  readonly description: string;
  readonly ok: boolean;
  readonly failure: SimFailure | undefined;
  /** Fingerprint of everything that happened: the same seed and options give the same hash. */
  readonly traceHash: string;
  readonly finalState: SimFinalState;
  readonly stats: SimStats;
  /** Readable trace lines, when asked for with `trace: true`. */
  readonly trace: readonly string[] | undefined;
  /** The punishments the decided chain applied, in order (validator = node index). */
  readonly punishments: readonly AppliedPunishment[];
  /** What the end-of-run checks accepted, and why (e.g. evidence lost with crashed nodes). */
  readonly notes: readonly string[];
  /** Each node's heap at its decisions (host-side, not deterministic: see `NodeHeap`). */
  readonly heap: readonly NodeHeap[];
}

function nodeHeap(
  index: number,
  samples: readonly (readonly [number, number])[],
  wal: readonly (readonly [number, number])[],
): NodeHeap {
  let peakBytes = 0;
  let peakHeight = 0;
  let maxStepBytes = 0;
  samples.forEach(([h, bytes], i) => {
    if (bytes > peakBytes) {
      peakBytes = bytes;
      peakHeight = h;
    }
    const prev = samples[i - 1];
    if (prev !== undefined && bytes - prev[1] > maxStepBytes) maxStepBytes = bytes - prev[1];
  });
  const first = samples[0];
  const last = samples[samples.length - 1];
  const growthPerHeight =
    first === undefined || last === undefined || last[0] === first[0]
      ? 0
      : (last[1] - first[1]) / (last[0] - first[0]);
  let walMaxBytes = 0;
  let walMaxHeight = 0;
  let walTotal = 0;
  for (const [h, bytes] of wal) {
    walTotal += bytes;
    if (bytes > walMaxBytes) {
      walMaxBytes = bytes;
      walMaxHeight = h;
    }
  }
  const walMeanBytes = wal.length === 0 ? 0 : walTotal / wal.length;
  return {
    index,
    samples,
    peakBytes,
    peakHeight,
    growthPerHeight,
    maxStepBytes,
    walMaxBytes,
    walMaxHeight,
    walMeanBytes,
  };
}

const settle = (): Promise<void> => new Promise<void>((resolve) => process.nextTick(resolve));

function exponential(rng: Rng, mean: number): number {
  return Math.max(1, Math.round(-mean * Math.log(1 - rng.float())));
}

function between(rng: Rng, range: readonly [number, number]): number {
  return rng.int(Math.round(range[0]), Math.max(Math.round(range[0]), Math.round(range[1])));
}

/**
 * Runs one simulation: N @synod/node nodes over a simulated network, clock
 * and disk, all derived from `options.seed`. A safety phase with Byzantine
 * validators and faults, then a liveness phase (network healed, crashed
 * nodes restarted) in which every honest node must decide `livenessHeights`
 * more heights within a bound derived from the timeouts, every valid
 * transaction submitted then must be committed, and no evidence may stay
 * pending. Checkers run at every state change; the first failure ends the
 * run.
 */
export async function runSimulation(options: SimOptions): Promise<SimResult> {
  return (await Simulation.create(options)).run();
}

/** The scenario a run of `options` derives from its seed (nothing runs). */
export function scenarioOf(options: SimOptions): Scenario {
  return prepare(options).scenario;
}

/** Everything a run derives from its options before anything runs. */
interface Setup {
  readonly oracle: SignatureOracle;
  readonly scenario: Scenario;
  readonly chain: SimChain;
  readonly netRng: Rng;
  readonly faultRng: Rng;
  readonly nodeRng: Rng;
  /** Each Byzantine actor's attack strategies draw from a fork of this (see `chooseAttacks`). */
  readonly attackRng: Rng;
  readonly workloadRng: Rng;
  /** The network adversary's choices (roles at its height). */
  readonly adversaryRng: Rng;
}

function prepare(options: SimOptions): Setup {
  const seed = options.seed >>> 0;
  const oracle = new SignatureOracle(options.signatures ?? 'ed25519');
  const master = new Rng(seed);
  const scenarioRng = master.fork();
  const keyRng = master.fork();
  const netRng = master.fork();
  const faultRng = master.fork();
  const nodeRng = master.fork();
  // Forked after the others: the streams above stay what they were.
  const attackRng = master.fork();
  const workloadRng = master.fork();
  const swarmRng = master.fork();
  const adversaryRng = master.fork();
  const [lo, hi] = validatorRange(options.validators);
  const n = scenarioRng.int(lo, hi);
  const keys = validatorKeys(keyRng, n);
  for (const k of keys) oracle.register(k.publicKey, k.seed);
  let scenario = deriveScenario(options, scenarioRng, n, true, attackRng.fork());
  const chosen = options.byzantineProfile === undefined;
  if (chosen && options.swarm !== false) scenario = swarm(scenario, swarmRng);
  // A forger (see `swarm`) is left as it is: the twins would replace it with honest nodes.
  const forger = [...scenario.byzantine.values()].some((p) => p.forgeBlocks > 0);
  if (chosen && options.adversary !== false && adversaryRng.chance(0.5) && !forger) {
    const plan = chooseAdversary(adversaryRng, seed, n, [...scenario.byzantine.keys()], scenario.heights);
    if (plan !== null) {
      // The Byzantine validator runs as two honest nodes: its own profile is none.
      const byzantine = new Map(scenario.byzantine);
      byzantine.set(plan.twinOf, NO_DEVIATIONS);
      scenario = { ...scenario, byzantine, adversary: plan };
    }
  }
  const params = simConsensusParams(scenario.timeouts, scenario.heights);
  const chain = new SimChain(keys, scenario.powers, params, seed);
  return { oracle, scenario, chain, netRng, faultRng, nodeRng, attackRng, workloadRng, adversaryRng };
}

class Simulation {
  readonly #scenario: Scenario;
  readonly #queue = new EventQueue();
  readonly #network: SimNetwork<Packet>;
  readonly #trace: Trace;
  readonly #oracle: SignatureOracle;
  readonly #chain: SimChain;
  readonly #faultRng: Rng;
  readonly #counters: SimCounters;
  readonly #transportCounters: TransportCounters = emptyTransportCounters();
  readonly #workload: TxWorkload | undefined;
  readonly #workloadRng: Rng;
  #checkers!: Checkers;
  #reference!: ReferenceChain;
  #nodes: SimNode[] = [];
  #adversary: Adversary | undefined;
  #phase: 'safety' | 'liveness' = 'safety';
  #events = 0;
  #livenessStartMs = -1;
  #safetyHeights = 0;
  #livenessTarget = 0;
  #livenessDeadlineMs = 0;
  #livenessBoundMs = 0;
  #reached = 0;
  /** When every honest node had reached the target: from then on, the run waits for evidence and transactions. */
  #settleDeadlineMs: number | undefined;
  /** (node, height) pairs decided in the current event, flattened. */
  #decisions: number[] = [];
  /** The checkers judge decisions one at a time, in the order nodes announce them. */
  #decideChain: Promise<void> = Promise.resolve();
  #requestIds = 0;
  /** Host-side heap samples per node (never in the trace: see `NodeHeap`). */
  readonly #heap: [number, number][][];
  /** (height, WAL bytes appended for it) per node. */
  readonly #wal: [number, number][][];

  private constructor(options: SimOptions, setup: Setup) {
    const { scenario, chain } = setup;
    this.#oracle = setup.oracle;
    this.#scenario = scenario;
    this.#chain = chain;
    this.#faultRng = setup.faultRng;
    this.#workloadRng = setup.workloadRng;
    this.#workload = options.workload === false ? undefined : new TxWorkload(chain, setup.workloadRng.fork());
    const n = scenario.validators;
    this.#heap = Array.from({ length: n }, () => []);
    this.#wal = Array.from({ length: n }, () => []);
    const trace = options.trace;
    this.#trace = new Trace({
      keepLines: trace === true,
      ...(typeof trace === 'function' ? { onLine: trace } : {}),
    });
    // With twins, node n is the second node of the Byzantine validator `adversary.twinOf`.
    const nodes = scenario.adversary === null ? n : n + 1;
    this.#network = new SimNetwork<Packet>(nodes, this.#queue, setup.netRng, scenario.calm);
    this.#counters = {
      crashes: 0,
      restarts: 0,
      walLosses: 0,
      partitions: 0,
      storms: 0,
      syncs: 0,
      evidenceAdded: 0,
      byzantineActions: {
        silent: 0,
        equivocate: 0,
        'double-propose': 0,
        amnesia: 0,
        'invalid-block': 0,
        'forge-block': 0,
        'invalid-vote': 0,
        'back-all': 0,
        'fork-propose': 0,
        'split-locks': 0,
        garbage: 0,
        'bad-evidence': 0,
        'targeted-propose': 0,
        'vote-flood': 0,
        'round-flood': 0,
        'next-height-flood': 0,
        'evidence-flood': 0,
      },
    };
  }

  static async create(options: SimOptions): Promise<Simulation> {
    const setup = prepare(options);
    const sim = new Simulation(options, setup);
    await sim.#init(setup);
    return sim;
  }

  async #init(setup: Setup): Promise<void> {
    const { scenario, chain } = setup;
    const queue = this.#queue;
    this.#reference = await ReferenceChain.create(chain, this.#oracle.verify, {
      now: () => GENESIS_TIME_MS + queue.now,
      setTimer: () => () => undefined,
    });
    this.#checkers = new Checkers({
      chainId: SIM_CHAIN_ID,
      addresses: chain.validators.map((k) => k.address),
      honest: chain.validators.map((_, i) => !scenario.byzantine.has(i)),
      silent: chain.validators.map((_, i) => (scenario.byzantine.get(i)?.silent ?? 0) >= 1),
      params: chain.params,
      verify: this.#oracle.verify,
      signaturesChecked: this.#oracle.scheme === 'ed25519',
      reference: this.#reference,
      now: () => queue.now,
      ...(this.#workload === undefined
        ? {}
        : { onTxCommitted: (hash: string) => this.#workload?.committed(hash) }),
      ...(this.#trace.verbose
        ? { log: (line: string) => this.#trace.line(`${stampOf(queue.now)} ${line}`) }
        : {}),
    });
    const keyOf = new Map(chain.validators.map((k) => [toHex(k.address), k.publicKey]));
    const roundMs = scenario.timeouts.proposeMs + scenario.timeouts.prevoteMs + scenario.timeouts.precommitMs;
    const transport: TransportWorld = {
      network: this.#network,
      queue,
      chainId: SIM_CHAIN_ID,
      verify: this.#oracle.verify,
      verifyTx: chain.txSignatures.verify,
      keyOf: (address) => keyOf.get(toHex(address)),
      requestTimeoutMs: roundMs,
      counters: this.#transportCounters,
      trace: this.#trace,
      nextRequestId: () => ++this.#requestIds,
    };
    const checkers = this.#checkers;
    const world: SimWorld = {
      queue,
      network: this.#network,
      transport,
      chain,
      scenario,
      oracle: this.#oracle,
      checkers,
      reference: this.#reference,
      trace: this.#trace,
      counters: this.#counters,
      byzantineAddresses: [...scenario.byzantine.keys()].map((i) =>
        Buffer.from(chain.validators[i]?.address ?? new Uint8Array(0)),
      ),
      livenessIntervalMs: scenario.livenessIntervalMs,
      indexOf: (address) => checkers.indexOf(address),
      nowMs: () => GENESIS_TIME_MS + queue.now,
      onKilled: (node) => this.#onKilled(node),
      onBlock: (node, event) => this.#onBlock(node, event),
      onSavedBlocks: (node, blocks) => {
        for (const { block, commit } of blocks) this.#decide(node, block, commit);
      },
      onWalHeight: (node, height, bytes) => {
        this.#wal[node.index]?.push([height, bytes]);
      },
      fail: (what, error) => {
        const e = error instanceof Error ? error : new Error(String(error));
        this.#checkers.fail('crash', 'crash', `${what}: ${e.message}`);
      },
    };
    const plan = scenario.adversary;
    for (let i = 0; i < scenario.validators; i++) {
      const key = chain.validators[i];
      if (key === undefined) continue;
      const twin = plan?.twinOf === i;
      this.#nodes.push(
        await SimNode.create(
          world,
          i,
          key,
          setup.nodeRng.fork(),
          twin ? undefined : scenario.byzantine.get(i),
          setup.attackRng.fork(),
          twin || scenario.byzantine.has(i),
        ),
      );
    }
    if (plan !== null) {
      const key = chain.validators[plan.twinOf];
      if (key === undefined) throw new Error('twins of an unknown validator');
      const n = scenario.validators;
      this.#nodes.push(
        await SimNode.create(world, n, key, setup.nodeRng.fork(), undefined, setup.attackRng.fork(), true),
      );
      const t = scenario.timeouts;
      // Rounds 0 and 1 with their timeouts, three times over: then the schedule ends.
      const lengthMs =
        3 *
        (2 * (t.proposeMs + t.prevoteMs + t.precommitMs) +
          t.proposeDeltaMs +
          t.prevoteDeltaMs +
          t.precommitDeltaMs +
          4 * scenario.calm.maxDelayMs);
      const adversary = new Adversary(
        plan,
        {
          validators: n,
          twin: n,
          setAt: (h) => this.#reference.validatorSetAt(h),
          indexOf: (address) => checkers.indexOf(address),
          byzantine: new Set(scenario.byzantine.keys()),
          now: () => queue.now,
          note: (line) => {
            if (this.#trace.verbose) this.#trace.line(`${stampOf(queue.now)} ${line}`);
          },
          send: (from, to, packet) => this.#network.send(from, to, packet),
          chainId: SIM_CHAIN_ID,
          signAsTwins: (message) => this.#oracle.sign(key.seed, key.publicKey, message),
        },
        setup.adversaryRng.fork(),
        lengthMs,
      );
      this.#adversary = adversary;
      this.#network.scheduler = adversary.scheduler;
    }
  }

  async run(): Promise<SimResult> {
    const s = this.#scenario;
    const trace = this.#trace;
    const description = describeScenario(s);
    trace.record(s.seed, s.validators);
    if (trace.verbose) trace.line(`seed=${s.seed} ${description}`);
    try {
      for (const node of this.#nodes)
        this.#queue.schedule(0, () => this.#spawn(node.start(), `starting node ${node.index}`), true);
      if (s.faults !== null) {
        if (s.faultKinds.crash) this.#scheduleCrash();
        if (s.faultKinds.partition) this.#schedulePartition();
        if (s.faultKinds.storm) this.#scheduleStorm();
        if (s.faultKinds.walLoss) this.#scheduleWalLoss();
      }
      this.#scheduleWorkload();
      await this.#loop();
      await this.#decideChain;
      if (this.#checkers.failure === undefined) {
        await this.#checkers.finalCheck(
          this.#nodes.map((n) => ({ index: n.index, honest: n.honest, up: n.alive, view: n.view() })),
        );
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.#checkers.fail('crash', 'crash', `exception: ${e.message}`);
      if (trace.verbose && e.stack !== undefined) trace.line(e.stack);
    }
    const failure = this.#checkers.failure;
    if (trace.verbose) {
      for (const note of this.#checkers.notes) trace.line(`${stampOf(this.#queue.now)} note: ${note}`);
      trace.line(
        failure === undefined
          ? `${stampOf(this.#queue.now)} pass: every honest node reached height ${this.#livenessTarget}, every valid transaction of the liveness phase committed, no evidence pending, punishments checked on every honest node`
          : `${stampOf(failure.atMs)} FAIL ${failure.class} (${failure.check}): ${failure.reason}`,
      );
    }
    return {
      seed: s.seed,
      scenario: s,
      description,
      ok: failure === undefined,
      failure,
      traceHash: trace.hash(),
      finalState: await this.#finalState(),
      stats: this.#stats(),
      trace: trace.lines,
      punishments: [...this.#checkers.punishments],
      notes: [...this.#checkers.notes],
      heap: this.#heap.map((samples, i) => nodeHeap(i, samples, this.#wal[i] ?? [])),
    };
  }

  async #loop(): Promise<void> {
    const q = this.#queue;
    const s = this.#scenario;
    for (;;) {
      if (this.#checkers.failure !== undefined) return;
      if (this.#phase === 'safety' && (this.#checkers.height >= s.heights || q.now >= s.safetyPhaseMaxMs)) {
        this.#beginLiveness();
        await this.#drain();
        continue;
      }
      if (this.#phase === 'liveness') {
        if (this.#reached >= this.#honestCount()) {
          // Then until no honest node that is up holds pending evidence or a valid transaction is missing.
          if (this.#settled()) return;
          if (this.#settleDeadlineMs === undefined) {
            this.#settleDeadlineMs = q.now + this.#livenessBoundMs;
            this.#trace.record(TAG.phase, this.#settleDeadlineMs);
          } else if (q.now > this.#settleDeadlineMs) {
            this.#failSettle();
            return;
          }
        } else if (q.now > this.#livenessDeadlineMs) {
          this.#failLiveness();
          return;
        }
      }
      const first = q.peek();
      if (first === undefined) {
        this.#checkers.fail('crash', 'crash', 'no events left');
        return;
      }
      const t = first.at;
      let pending = false;
      for (;;) {
        const ev = q.peek();
        if (ev === undefined || ev.at !== t) break;
        if (ev.barrier && pending) {
          await this.#drain();
          pending = false;
          continue;
        }
        q.step();
        this.#events++;
        pending = true;
        if (ev.barrier) {
          await this.#drain();
          pending = false;
        }
      }
      if (pending) await this.#drain();
    }
  }

  /** Lets every asynchronous consequence of the events run, then runs the after-event checks. */
  async #drain(): Promise<void> {
    await settle();
    const d = this.#decisions;
    if (d.length === 0) return;
    this.#decisions = [];
    for (let i = 0; i < d.length; i += 2) this.#checkers.evidenceDue(d[i] as number, d[i + 1] as number);
  }

  #honestCount(): number {
    return this.#scenario.validators - this.#scenario.byzantine.size;
  }

  #honestNodes(): SimNode[] {
    return this.#nodes.filter((n) => n.honest);
  }

  #spawn(work: Promise<void>, what: string): void {
    work.catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      this.#checkers.fail('crash', 'crash', `${what}: ${e.message}`);
    });
  }

  // ------------------------------------------------------------------ decisions

  #onBlock(node: SimNode, e: BlockDecidedEvent): void {
    const h = e.height;
    this.#decisions.push(node.index, h);
    // Host-side observation: read, never mixed into the trace or fed back into the run.
    this.#heap[node.index]?.push([h, getHeapStatistics().used_heap_size]);
    if (node.honest) this.#checkers.onAppHash(node.index, h, e.hash, e.appHash);
    this.#decide(node, e.block, e.commit);
    if (this.#phase === 'liveness' && node.honest && h === this.#livenessTarget) this.#reached++;
  }

  /** The checkers judge node `node`'s decision of `block`, after every decision announced before it. */
  #decide(node: SimNode, block: Block, commit: Commit): void {
    this.#decideChain = this.#decideChain
      .then(() => this.#checkers.onDecide(node.index, block, commit))
      .catch((err: unknown) => {
        this.#checkers.fail('crash', 'crash', `checking a decision: ${(err as Error).message}`);
      });
  }

  // ------------------------------------------------------------------ workload

  /**
   * Transactions: in the safety phase one submission about every half
   * height, to a random honest node that is up; in the liveness phase
   * `LIVENESS_TXS` of them, spread over its first heights.
   */
  #scheduleWorkload(): void {
    const w = this.#workload;
    if (w === undefined) return;
    const s = this.#scenario;
    const every = Math.max(5, Math.round((s.timeouts.commitMs + 2 * s.calm.maxDelayMs + 10) / 2));
    const tick = (): void => {
      if (this.#phase !== 'safety') return;
      this.#submit(w, 'safety');
      this.#queue.schedule(this.#workloadRng.int(1, 2 * every), tick);
    };
    this.#queue.schedule(this.#workloadRng.int(1, 2 * every), tick);
  }

  #submit(w: TxWorkload, phase: 'safety' | 'liveness'): void {
    const up = this.#honestNodes().filter((n) => n.node !== undefined);
    if (up.length === 0) return;
    const target = this.#workloadRng.pick(up);
    const s = w.next(phase, (sender) => {
      const a = this.#chain.accounts[sender];
      return a === undefined ? 0 : this.#reference.ledger.account(a.address).nonce;
    });
    const node = target.node;
    if (node === undefined) return;
    const answered = (accepted: boolean): void => {
      w.answered(s, accepted, phase);
      this.#trace.record(TAG.tx, target.index, accepted ? 1 : 0);
      if (this.#trace.verbose) this.#traceTx(target.index, s, accepted);
    };
    let result: ReturnType<typeof node.broadcastTx>;
    try {
      result = node.broadcastTx(s.tx);
    } catch {
      answered(false);
      return;
    }
    result.then(
      (r) => answered(r.accepted),
      () => answered(false),
    );
  }

  #traceTx(node: number, s: Submission, accepted: boolean): void {
    this.#trace.line(
      `${stampOf(this.#queue.now)} tx ${s.hash.slice(0, 8)} (${s.kind}, account ${s.sender} nonce ${s.nonce}) to node ${node}: ${accepted ? 'accepted' : 'refused'}`,
    );
  }

  // ------------------------------------------------------------------ faults

  /** The honest nodes a crash fault may strike now: alive, not armed, and none while an adversary schedule runs. */
  #crashCandidates(): SimNode[] {
    return this.#adversary?.engaged ? [] : this.#honestNodes().filter((n) => n.alive && !n.armed);
  }

  #scheduleCrash(): void {
    const f = this.#scenario.faults;
    if (f === null) return;
    const rng = this.#faultRng;
    this.#queue.schedule(
      exponential(rng, f.crashEveryMs),
      () => {
        if (this.#phase !== 'safety') return;
        const candidates = this.#crashCandidates();
        if (candidates.length > 0) {
          const node = rng.pick(candidates);
          if (rng.chance(f.midOperationCrash)) {
            const countdown = rng.int(0, 6);
            const applyFirst = rng.chance(0.5);
            node.armCrash(countdown, applyFirst);
            this.#trace.record(TAG.crash, node.index, countdown, applyFirst ? 1 : 0);
            if (this.#trace.verbose) {
              this.#trace.line(
                `${stampOf(this.#queue.now)} crash point armed on node ${node.index}: storage operation +${countdown}, ${applyFirst ? 'after' : 'before'} the write`,
              );
            }
          } else node.kill('power cut');
        }
        this.#scheduleCrash();
      },
      true,
    );
  }

  /**
   * WAL loss (swarm's fault kind): now and then an honest node is armed to
   * die just after its next signature of a round-0 proposal, with its WAL
   * lost (`SimDisk`), and it restarts at once — still at that height, where
   * it builds and asks to sign another round-0 proposal (see `#onKilled`).
   * Round 0 only: there the node can hold no lock nor valid value yet, so
   * what it forgets is its own proposal (not sent) and what it heard of round
   * 0, as in any crash; the signer state is what it remembers, and the
   * signer's guard is what keeps it from a second proposal.
   */
  #scheduleWalLoss(): void {
    const f = this.#scenario.faults;
    if (f === null) return;
    const rng = this.#faultRng;
    const next = (): void => {
      this.#queue.schedule(
        exponential(rng, f.crashEveryMs),
        () => {
          if (this.#phase !== 'safety') return;
          const candidates = this.#crashCandidates();
          if (candidates.length > 0) {
            const victim = rng.pick(candidates);
            victim.armWalLoss();
            this.#trace.record(TAG.crash, victim.index, -1, 0);
            if (this.#trace.verbose) {
              this.#trace.line(
                `${stampOf(this.#queue.now)} WAL loss armed on node ${victim.index}: it dies as soon as its next round-0 proposal has gone out`,
              );
            }
          }
          next();
        },
        true,
      );
    };
    next();
  }

  #onKilled(node: SimNode): void {
    const f = this.#scenario.faults;
    // A node that lost its WAL comes back at once (within a hop), still at the height and round it left.
    const downtime = node.disk.walLost
      ? this.#faultRng.int(1, this.#scenario.calm.maxDelayMs)
      : f === null || this.#phase !== 'safety'
        ? 1
        : between(this.#faultRng, f.downtimeMs);
    this.#queue.schedule(downtime, () => this.#restart(node), true);
  }

  #restart(node: SimNode): void {
    if (node.alive) return;
    this.#counters.restarts++;
    if (node.disk.walLost) this.#counters.walLosses++;
    this.#trace.record(TAG.restart, node.index, node.decided);
    if (this.#trace.verbose) {
      this.#trace.line(
        `${stampOf(this.#queue.now)} restart node ${node.index} from height ${node.decided + 1} (${node.disk.walLost ? 'WAL lost: nothing to replay' : 'WAL replay'})`,
      );
    }
    this.#spawn(node.start(), `restarting node ${node.index}`);
  }

  #schedulePartition(): void {
    const f = this.#scenario.faults;
    if (f === null) return;
    const rng = this.#faultRng;
    this.#queue.schedule(
      exponential(rng, f.partitionEveryMs),
      () => {
        if (this.#phase !== 'safety') return;
        if (!this.#network.partitioned && this.#adversary?.engaged !== true) {
          const n = this.#scenario.validators;
          let groups: number[][];
          if (n < 2) groups = [[0]];
          else if (rng.chance(0.4)) {
            const alone = rng.int(0, n - 1);
            groups = [[alone], [...Array(n).keys()].filter((i) => i !== alone)];
          } else {
            const a: number[] = [];
            const b: number[] = [];
            for (const i of rng.shuffle([...Array(n).keys()])) (rng.chance(0.5) ? a : b).push(i);
            if (a.length === 0) a.push(b.pop() as number);
            if (b.length === 0) b.push(a.pop() as number);
            groups = [a.sort((x, y) => x - y), b.sort((x, y) => x - y)];
          }
          this.#network.partition(groups);
          this.#counters.partitions++;
          this.#trace.record(TAG.partition, ...groups.map((g) => g.length));
          if (this.#trace.verbose) {
            this.#trace.line(
              `${stampOf(this.#queue.now)} partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}`,
            );
          }
          this.#queue.schedule(
            between(rng, f.partitionMs),
            () => {
              if (this.#phase !== 'safety' || !this.#network.partitioned) return;
              this.#network.heal();
              this.#trace.record(TAG.heal);
              if (this.#trace.verbose) this.#trace.line(`${stampOf(this.#queue.now)} partition healed`);
            },
            true,
          );
        }
        this.#schedulePartition();
      },
      true,
    );
  }

  #scheduleStorm(): void {
    const f = this.#scenario.faults;
    if (f === null) return;
    const rng = this.#faultRng;
    this.#queue.schedule(exponential(rng, f.stormEveryMs), () => {
      if (this.#phase !== 'safety') return;
      if (this.#adversary?.engaged === true) {
        this.#scheduleStorm();
        return;
      }
      this.#network.setFaults(f.storm);
      this.#counters.storms++;
      this.#trace.record(TAG.storm);
      if (this.#trace.verbose) {
        this.#trace.line(
          `${stampOf(this.#queue.now)} network storm: loss ${f.storm.lossRate.toFixed(2)}, duplication ${f.storm.duplicateRate.toFixed(2)}, delay up to ${f.storm.maxDelayMs}ms`,
        );
      }
      this.#queue.schedule(between(rng, f.stormMs), () => {
        if (this.#phase !== 'safety') return;
        this.#network.setFaults(this.#scenario.calm);
        this.#trace.record(TAG.calm);
        if (this.#trace.verbose) this.#trace.line(`${stampOf(this.#queue.now)} network calm`);
        this.#scheduleStorm();
      });
    });
  }

  // ------------------------------------------------------------------ liveness

  #beginLiveness(): void {
    const s = this.#scenario;
    const now = this.#queue.now;
    this.#phase = 'liveness';
    this.#livenessStartMs = now;
    this.#safetyHeights = this.#checkers.height;
    this.#network.heal();
    this.#network.setFaults(s.calm);
    this.#adversary?.end();
    const honest = this.#honestNodes();
    for (const node of honest) node.disarm();
    for (const node of honest) if (!node.alive) this.#queue.schedule(1, () => this.#restart(node), true);
    const heights = honest.map((n) => n.decided);
    const top = Math.max(...heights);
    const lag = top - Math.min(...heights);
    // At least past the first downtime window, and two more heights (a validator jailed there
    // leaves the set at H + 2).
    const horizon = this.#chain.params.slashing.signedBlocksWindow + 3;
    const extra = Math.max(s.livenessHeights, horizon - top);
    this.#livenessTarget = top + extra;
    this.#reached = honest.filter((n) => n.decided >= this.#livenessTarget).length;
    const t = s.timeouts;
    // A height needs at most (2B + 3) rounds once the network is calm (B Byzantine proposers
    // in a row, round synchronisation), each at most the three capped timeouts.
    const rounds = 2 * s.byzantine.size + 3;
    const perHeightMs = t.commitMs + rounds * 3 * t.capMs + 4 * s.calm.maxDelayMs;
    const catchUpMs = Math.ceil(lag / 16 + 1) * (3 * s.livenessIntervalMs + 4 * s.calm.maxDelayMs);
    const boundMs = catchUpMs + (extra + 1) * perHeightMs + 2 * s.livenessIntervalMs;
    this.#livenessDeadlineMs = now + boundMs;
    this.#livenessBoundMs = (s.livenessHeights + 1) * perHeightMs + 4 * s.livenessIntervalMs;
    this.#trace.record(TAG.phase, this.#livenessTarget, boundMs);
    if (this.#trace.verbose) {
      this.#trace.line(
        `${stampOf(now)} liveness phase: faults off, network healed, crashed nodes restart; every honest node must reach height ${this.#livenessTarget} within ${boundMs}ms (heights now ${heights.join(',')})`,
      );
    }
    const w = this.#workload;
    if (w !== undefined) {
      const spacing = Math.max(1, Math.round((t.commitMs + 2 * s.calm.maxDelayMs + 10) / 2));
      for (let i = 0; i < LIVENESS_TXS; i++)
        this.#queue.schedule(1 + i * spacing, () => this.#submit(w, 'liveness'));
    }
  }

  /**
   * No honest node that is up holds pending evidence, every one of them has
   * executed the last block that carried evidence (so each applied every
   * punishment the chain decided), and every valid transaction submitted in
   * the liveness phase is committed.
   */
  #settled(): boolean {
    if ((this.#workload?.pending().length ?? 0) > 0) return false;
    const last = this.#checkers.lastEvidenceHeight;
    for (const n of this.#nodes) {
      if (!n.honest || !n.alive) continue;
      const st = n.node?.status();
      if (st === undefined || st.evidencePending > 0 || st.height < last) return false;
    }
    return true;
  }

  #failSettle(): void {
    const missing = this.#workload?.pending() ?? [];
    if (missing.length > 0) {
      this.#checkers.fail(
        'liveness',
        'tx-lost',
        `${missing.length} valid transaction(s) of the liveness phase not committed within ${this.#livenessBoundMs}ms after every honest node reached height ${this.#livenessTarget}: ${missing.map((s) => `${s.hash.slice(0, 12)} (account ${s.sender} nonce ${s.nonce})`).join(', ')}`,
      );
      return;
    }
    const last = this.#checkers.lastEvidenceHeight;
    const holding = this.#honestNodes()
      .filter((n) => {
        const st = n.node?.status();
        return n.alive && (st === undefined || st.evidencePending > 0 || st.height < last);
      })
      .map((n) => `node ${n.index} (${n.node?.status().evidencePending} pending, decided ${n.decided})`);
    this.#checkers.fail(
      'liveness',
      'evidence-stuck',
      `pending evidence not committed (or its block not executed by every honest node) within ${this.#livenessBoundMs}ms after every honest node reached height ${this.#livenessTarget}: ${holding.join(', ') || `last evidence at height ${last}`}`,
    );
  }

  #failLiveness(): void {
    const behind = this.#honestNodes()
      .filter((n) => n.decided < this.#livenessTarget)
      .map((n) => {
        const p = n.node?.status().consensus;
        const at =
          p === undefined
            ? n.alive
              ? (n.node?.status().state ?? 'starting')
              : 'down'
            : `at h=${p.height} r=${p.round} ${p.step}, locked r=${p.lockedRound}${p.lockedValue === null ? '' : ` ${p.lockedValue.slice(0, 8)}`}, valid r=${p.validRound}${p.validValue === null ? '' : ` ${p.validValue.slice(0, 8)}`}`;
        return `node ${n.index} decided ${n.decided} (${at})`;
      });
    this.#checkers.fail(
      'liveness',
      'liveness',
      `height ${this.#livenessTarget} not reached within ${this.#livenessDeadlineMs - this.#livenessStartMs}ms of the liveness phase: ${behind.join(', ')}`,
    );
  }

  // ------------------------------------------------------------------ results

  async #finalState(): Promise<SimFinalState> {
    const chain = new Trace();
    const height = this.#checkers.height;
    for (let h = 1; h <= height; h++)
      chain.mix(parseInt((this.#checkers.decidedHash(h) ?? '0').slice(0, 12), 16));
    return {
      height,
      chainHash: chain.hash(),
      nodes: this.#nodes.map((n) => {
        const view = n.view();
        return {
          index: n.index,
          honest: n.honest,
          up: n.alive,
          decided: n.decided,
          stateHash: n.node?.status().appHash,
          punished: view === undefined ? undefined : this.#punishedIn(view.slashing),
        };
      }),
    };
  }

  #punishedIn(slashing: SlashingView): PunishedValidator[] {
    const out: PunishedValidator[] = [];
    this.#chain.validators.forEach((k, validator) => {
      const st = slashing.status(k.address);
      if (st === undefined || (!st.jailed && st.equivocations === 0 && st.downtimeJails === 0)) return;
      const { equivocations, downtimeJails, jailed, tombstoned, totalBurned } = st;
      out.push({ validator, equivocations, downtimeJails, jailed, tombstoned, totalBurned });
    });
    return out;
  }

  #stats(): SimStats {
    const c = this.#checkers;
    let extraRounds = 0;
    let maxRound = 0;
    for (let h = 1; h <= c.height; h++) {
      const r = c.decidedRound(h) ?? 0;
      extraRounds += r;
      if (r > maxRound) maxRound = r;
    }
    const k = this.#counters;
    const t = this.#transportCounters;
    return {
      heights: c.height,
      extraRounds,
      maxRound,
      messagesSent: this.#network.sent,
      messagesDelivered: this.#network.delivered,
      messagesDropped: this.#network.dropped,
      gossipSent: t.gossipSent,
      gossipRelayed: t.gossipRelayed,
      gossipSpared: t.gossipSpared,
      gossipDuplicates: t.gossipDuplicates,
      gossipRejected: t.gossipRejected,
      gossipIgnored: t.gossipIgnored,
      requests: { ...t.requests },
      requestTimeouts: t.requestTimeouts,
      crashes: k.crashes,
      restarts: k.restarts,
      walLosses: k.walLosses,
      partitions: k.partitions,
      storms: k.storms,
      syncs: k.syncs,
      byzantineActions: { ...k.byzantineActions },
      evidenceReports: c.evidenceReports,
      infractions: c.infractions.size,
      evidenceAdded: k.evidenceAdded,
      txs:
        this.#workload === undefined
          ? {
              submitted: 0,
              accepted: 0,
              committed: 0,
              byKind: {
                valid: 0,
                duplicate: 0,
                'bad-signature': 0,
                'low-fee': 0,
                'wrong-chain': 0,
                'nonce-gap': 0,
              },
            }
          : { ...this.#workload.counts, byKind: { ...this.#workload.counts.byKind } },
      events: this.#events,
      simulatedMs: this.#queue.now,
      livenessStartMs: this.#livenessStartMs,
      safetyHeights: this.#safetyHeights,
      signaturesVerified: this.#oracle.verified,
      punishments: c.punishmentStats(),
    };
  }
}

function stampOf(ms: number): string {
  return `t=${String(ms).padStart(7)}`;
}
