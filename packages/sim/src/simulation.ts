import { addressFromPublicKey, keyPairFromSeed, toHex } from '@synod/crypto';
import {
  type ConsensusParams,
  compareBytes,
  DEFAULT_CONSENSUS_PARAMS,
  makeValidatorSet,
  PPM,
  type TimeoutParams,
  type ValidatorSet,
} from '@synod/types';
import {
  createCounterApp,
  type SimAppGenesis,
  type SimApplication,
  type SimApplicationFactory,
  type SimSlashing,
} from './app.js';
import type { ByzantineAction } from './byzantine.js';
import { type AppliedPunishment, Checkers, type PunishmentStats, type SimFailure } from './checkers.js';
import { EventQueue } from './event-queue.js';
import { createLedgerApp } from './ledger-app.js';
import { SimNetwork } from './network.js';
import { GENESIS_TIME_MS, type SimCounters, SimNode, type SimWorld, TAG } from './node.js';
import { Rng } from './rng.js';
import {
  deriveScenario,
  describeScenario,
  type Scenario,
  type SimOptions,
  validatorRange,
} from './scenario.js';
import { SignatureOracle } from './signatures.js';
import { Trace } from './trace.js';

export const SIM_CHAIN_ID = 'synod-sim';

/**
 * Heights an honest node may need, after the safety phase, to be back in the
 * decided commits (restart, catch up): the downtime window is the safety
 * phase's heights plus this. Measured (`SimStats.punishments.honestMissStreak`):
 * over seeds 1–500 with 12 safety heights, no honest validator was absent
 * from more than 10 decided commits in a row.
 */
export const DOWNTIME_WINDOW_MARGIN = 12;

/**
 * The simulated chain's slashing params: the defaults' amounts (5%, jail for
 * ever and tombstone for equivocation; 1% and a jail for downtime), with a
 * downtime window short enough to be seen in a run: a validator absent from
 * every one of `signedBlocksWindow` decided commits in a row is slashed and
 * jailed (minSignedPerWindowPpm makes one signature per window the bar), and
 * the jail outlasts any run. The window is `safetyHeights +
 * DOWNTIME_WINDOW_MARGIN`: an honest node misses commits only while the
 * fault plan keeps it down or cut off (the safety phase, at most
 * `safetyHeights` heights) and while it catches up in the liveness phase, so
 * it cannot miss a whole window; a validator that stays silent misses every
 * one and is jailed at height window + 1 (the liveness phase runs at least
 * to window + 3, when it is out of the set).
 */
export function simSlashing(safetyHeights: number): ConsensusParams['slashing'] {
  const window = safetyHeights + DOWNTIME_WINDOW_MARGIN;
  return {
    doubleSignSlashPpm: DEFAULT_CONSENSUS_PARAMS.slashing.doubleSignSlashPpm,
    downtimeSlashPpm: DEFAULT_CONSENSUS_PARAMS.slashing.downtimeSlashPpm,
    signedBlocksWindow: window,
    minSignedPerWindowPpm: Math.floor(PPM / window),
    downtimeJailDurationMs: 24 * 3600 * 1000,
  };
}

/**
 * Evidence: never expires within a run (the defaults' ages: 100,000 blocks
 * and 48 hours); at most 2 KiB per block (six items), so a burst of evidence
 * takes several blocks.
 */
export const SIM_EVIDENCE: ConsensusParams['evidence'] = {
  ...DEFAULT_CONSENSUS_PARAMS.evidence,
  maxBytes: 2048,
};

/** The consensus params of a simulated chain: the scenario's timeouts, evidence and slashing as above. */
export function simConsensusParams(timeouts: TimeoutParams, safetyHeights = 12): ConsensusParams {
  return {
    ...DEFAULT_CONSENSUS_PARAMS,
    timeouts,
    evidence: SIM_EVIDENCE,
    slashing: simSlashing(safetyHeights),
  };
}

/** The application of `options.app` (default: the ledger). */
export function applicationOf(app: SimOptions['app']): SimApplicationFactory {
  if (app === undefined || app === 'ledger') return createLedgerApp();
  if (app === 'counter') return createCounterApp();
  return app;
}

/** Counts of one run. */
export interface SimStats {
  /** Heights decided (by at least one node). */
  readonly heights: number;
  /** Sum over decided heights of the decision round (0 when every height decided in round 0). */
  readonly extraRounds: number;
  readonly maxRound: number;
  readonly messagesSent: number;
  readonly messagesDelivered: number;
  readonly messagesDropped: number;
  /** Messages that failed decoding or the gossip checks on arrival. */
  readonly messagesRejected: number;
  readonly crashes: number;
  readonly restarts: number;
  readonly partitions: number;
  readonly storms: number;
  readonly catchUps: number;
  readonly regossips: number;
  /** Block syncs (a node behind took decided blocks with their commits and restarted consensus). */
  readonly syncs: number;
  readonly byzantineActions: Readonly<Record<ByzantineAction, number>>;
  readonly evidenceReports: number;
  /** Distinct infractions (validator, height, round, type) reported by honest nodes. */
  readonly infractions: number;
  readonly events: number;
  readonly simulatedMs: number;
  /** When the liveness phase began (simulated ms). */
  readonly livenessStartMs: number;
  /** Heights decided in the safety phase. */
  readonly safetyHeights: number;
  /** Signatures verified with Ed25519 (the rest came from the shared cache). */
  readonly signaturesVerified: number;
  /** Evidence messages sent between nodes, and evidence honest pools refused. */
  readonly evidenceGossip: number;
  readonly evidenceRefused: number;
  /** What the decided chain did to validators (zeros with an application that does not punish). */
  readonly punishments: PunishmentStats;
}

export interface SimNodeState {
  readonly index: number;
  readonly honest: boolean;
  readonly up: boolean;
  readonly decided: number;
  /** The application's state hash (hex), when the node is up. */
  readonly stateHash: string | undefined;
  /**
   * The validators the node's application has punished (jailed, or with a
   * punishment on record), in validator order, when the node is up and its
   * application punishes: what that node believes about everyone.
   */
  readonly punished: readonly PunishedValidator[] | undefined;
}

/** A validator's punishment record in one node's application. */
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
 * - The heap as the host saw it: `process.memoryUsage().heapUsed` (the whole
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
 * Runs one simulation: N production engines over a simulated network,
 * clock and storage, all derived from `options.seed`. A safety phase with
 * Byzantine validators and faults, then a liveness phase (network healed,
 * crashed nodes restarted) in which every honest node must decide
 * `livenessHeights` more heights within a bound derived from the timeouts.
 * Checkers run at every state change; the first failure ends the run.
 */
export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const setup = prepare(options);
  const reference = await setup.factory.createNode(setup.appGenesis).open();
  return new Simulation(options, setup, reference).run();
}

interface Keys {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
}

/** Everything a run derives from its options before anything runs. */
interface Setup {
  readonly oracle: SignatureOracle;
  readonly scenario: Scenario;
  readonly keys: readonly Keys[];
  readonly genesis: ValidatorSet;
  readonly params: ConsensusParams;
  readonly factory: SimApplicationFactory;
  readonly appGenesis: SimAppGenesis;
  readonly netRng: Rng;
  readonly faultRng: Rng;
  readonly nodeRng: Rng;
  /** Each Byzantine actor's attack strategies draw from a fork of this (see `chooseAttacks`). */
  readonly attackRng: Rng;
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
  // Forked last: the attack strategies came later, and the streams above stay what they were.
  const attackRng = master.fork();
  const [lo, hi] = validatorRange(options.validators);
  const n = scenarioRng.int(lo, hi);
  const keys = Array.from({ length: n }, () => {
    const kp = keyPairFromSeed(keyRng.bytes(32));
    return { seed: kp.seed, publicKey: kp.publicKey, address: addressFromPublicKey(kp.publicKey) };
  }).sort((a, b) => compareBytes(a.address, b.address));
  for (const k of keys) oracle.register(k.publicKey, k.seed);
  const factory = applicationOf(options.app);
  const scenario = deriveScenario(options, scenarioRng, n, factory.punishes === true, attackRng.fork());
  const genesis = makeValidatorSet(
    keys.map((k, i) => ({
      address: k.address,
      pubKey: k.publicKey,
      votingPower: scenario.powers[i] as number,
      proposerPriority: 0n,
    })),
  );
  const params = simConsensusParams(scenario.timeouts, scenario.heights);
  const appGenesis: SimAppGenesis = {
    chainId: SIM_CHAIN_ID,
    genesisTimeMs: GENESIS_TIME_MS,
    validatorSet: genesis,
    params,
    verify: oracle.verify,
    seed,
  };
  return {
    oracle,
    scenario,
    keys,
    genesis,
    params,
    factory,
    appGenesis,
    netRng,
    faultRng,
    nodeRng,
    attackRng,
  };
}

class Simulation {
  readonly #scenario: Scenario;
  readonly #queue = new EventQueue();
  readonly #network: SimNetwork<Uint8Array>;
  readonly #trace: Trace;
  readonly #checkers: Checkers;
  readonly #oracle: SignatureOracle;
  readonly #nodes: SimNode[];
  readonly #faultRng: Rng;
  readonly #counters: SimCounters;
  readonly #params: ConsensusParams;
  readonly #punishes: boolean;
  readonly #addresses: readonly Uint8Array[];
  #phase: 'safety' | 'liveness' = 'safety';
  #events = 0;
  #livenessStartMs = -1;
  #safetyHeights = 0;
  #livenessTarget = 0;
  #livenessDeadlineMs = 0;
  #livenessBoundMs = 0;
  #reached = 0;
  /** When every honest node had reached the target: from then on, the run waits for pending evidence. */
  #settleDeadlineMs: number | undefined;
  /** (node, height) pairs decided in the current event, flattened. */
  #decisions: number[] = [];
  /** Host-side heap samples per node (never in the trace: see `NodeHeap`). */
  readonly #heap: [number, number][][];
  /** (height, WAL bytes appended for it) per node. */
  readonly #wal: [number, number][][];

  constructor(options: SimOptions, setup: Setup, reference: SimApplication) {
    const { scenario, keys, params, factory, appGenesis } = setup;
    this.#oracle = setup.oracle;
    this.#scenario = scenario;
    this.#faultRng = setup.faultRng;
    this.#params = params;
    this.#punishes = reference.slashing !== undefined;
    this.#addresses = keys.map((k) => k.address);
    const n = keys.length;
    this.#heap = Array.from({ length: n }, () => []);
    this.#wal = Array.from({ length: n }, () => []);
    const trace = options.trace;
    this.#trace = new Trace({
      keepLines: trace === true,
      ...(typeof trace === 'function' ? { onLine: trace } : {}),
    });
    this.#network = new SimNetwork<Uint8Array>(n, this.#queue, setup.netRng, scenario.calm);
    this.#checkers = new Checkers({
      chainId: SIM_CHAIN_ID,
      addresses: keys.map((k) => k.address),
      honest: keys.map((_, i) => !scenario.byzantine.has(i)),
      silent: keys.map((_, i) => (scenario.byzantine.get(i)?.silent ?? 0) >= 1),
      params,
      verify: this.#oracle.verify,
      signaturesChecked: this.#oracle.scheme === 'ed25519',
      reference,
      now: () => this.#queue.now,
      ...(this.#trace.verbose
        ? { log: (line: string) => this.#trace.line(`${stampOf(this.#queue.now)} ${line}`) }
        : {}),
    });
    this.#counters = {
      messagesSent: 0,
      messagesRejected: 0,
      crashes: 0,
      restarts: 0,
      partitions: 0,
      storms: 0,
      catchUps: 0,
      regossips: 0,
      syncs: 0,
      evidenceGossip: 0,
      evidenceRefused: 0,
      byzantineActions: {
        silent: 0,
        equivocate: 0,
        'double-propose': 0,
        amnesia: 0,
        'invalid-block': 0,
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
    const checkers = this.#checkers;
    const world: SimWorld = {
      queue: this.#queue,
      network: this.#network,
      chainId: SIM_CHAIN_ID,
      params,
      scenario,
      oracle: this.#oracle,
      checkers,
      trace: this.#trace,
      counters: this.#counters,
      byzantineAddresses: [...scenario.byzantine.keys()].map((i) => Buffer.from((keys[i] as Keys).address)),
      indexOf: (address) => checkers.indexOf(address),
      nowMs: () => GENESIS_TIME_MS + this.#queue.now,
      onKilled: (node) => this.#onKilled(node),
      onDecided: (node, height) => this.#onDecided(node, height),
      onWalHeight: (node, height, bytes) => {
        this.#wal[node.index]?.push([height, bytes]);
      },
    };
    this.#nodes = keys.map(
      (k, i) =>
        new SimNode(
          world,
          i,
          k,
          factory.createNode(appGenesis),
          setup.nodeRng.fork(),
          scenario.byzantine.get(i),
          setup.attackRng.fork(),
        ),
    );
  }

  async run(): Promise<SimResult> {
    const s = this.#scenario;
    const trace = this.#trace;
    const description = describeScenario(s);
    trace.record(s.seed, s.validators);
    if (trace.verbose) trace.line(`seed=${s.seed} ${description}`);
    try {
      for (const node of this.#nodes) await node.start();
      for (const node of this.#nodes) this.#scheduleTicks(node);
      if (s.faults !== null) {
        this.#scheduleCrash();
        this.#schedulePartition();
        this.#scheduleStorm();
      }
      await this.#loop();
      if (this.#checkers.failure === undefined) {
        await this.#checkers.finalCheck(
          this.#nodes.map((n) => ({ index: n.index, honest: n.honest, up: n.alive, app: n.application })),
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
          ? `${stampOf(this.#queue.now)} pass: every honest node reached height ${this.#livenessTarget}${this.#punishes ? ', no evidence pending, punishments checked on every honest node' : ''}`
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
      finalState: this.#finalState(),
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
          // Then until no honest node that is up holds pending evidence (it must reach a block).
          if (this.#evidenceSettled()) return;
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

  // ------------------------------------------------------------------ gossip ticks

  #scheduleTicks(node: SimNode): void {
    const every = this.#scenario.gossipIntervalMs;
    const tick = (): void => {
      node.tick();
      this.#queue.schedule(every, tick);
    };
    this.#queue.schedule(this.#faultRng.int(1, every), tick);
  }

  // ------------------------------------------------------------------ faults

  #scheduleCrash(): void {
    const f = this.#scenario.faults;
    if (f === null) return;
    const rng = this.#faultRng;
    this.#queue.schedule(
      exponential(rng, f.crashEveryMs),
      () => {
        if (this.#phase !== 'safety') return;
        const candidates = this.#honestNodes().filter((n) => n.alive && !n.armed);
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

  #onKilled(node: SimNode): void {
    const f = this.#scenario.faults;
    const downtime = f === null || this.#phase !== 'safety' ? 1 : between(this.#faultRng, f.downtimeMs);
    this.#queue.schedule(downtime, () => this.#restart(node), true);
  }

  #restart(node: SimNode): void {
    if (node.alive) return;
    this.#counters.restarts++;
    this.#trace.record(TAG.restart, node.index, node.decided);
    if (this.#trace.verbose) {
      this.#trace.line(
        `${stampOf(this.#queue.now)} restart node ${node.index} from height ${node.decided + 1} (WAL replay)`,
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
        if (!this.#network.partitioned) {
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
    const honest = this.#honestNodes();
    for (const node of honest) node.disarm();
    for (const node of honest) if (!node.alive) this.#queue.schedule(1, () => this.#restart(node), true);
    const heights = honest.map((n) => n.decided);
    const top = Math.max(...heights);
    const lag = top - Math.min(...heights);
    // With an application that punishes: at least past the first downtime window, and two more
    // heights (a validator jailed there leaves the set at H + 2).
    const horizon = this.#punishes ? this.#params.slashing.signedBlocksWindow + 3 : 0;
    const extra = Math.max(s.livenessHeights, horizon - top);
    this.#livenessTarget = top + extra;
    this.#reached = honest.filter((n) => n.decided >= this.#livenessTarget).length;
    const t = s.timeouts;
    // A height needs at most (2B + 3) rounds once the network is calm (B Byzantine proposers
    // in a row, round synchronisation), each at most the three capped timeouts.
    const rounds = 2 * s.byzantine.size + 3;
    const perHeightMs = t.commitMs + rounds * 3 * t.capMs + 4 * s.calm.maxDelayMs;
    const catchUpMs = Math.ceil(lag / 16 + 1) * (3 * s.gossipIntervalMs + 4 * s.calm.maxDelayMs);
    const boundMs = catchUpMs + (extra + 1) * perHeightMs + 2 * s.gossipIntervalMs;
    this.#livenessDeadlineMs = now + boundMs;
    this.#livenessBoundMs = (s.livenessHeights + 1) * perHeightMs + 4 * s.gossipIntervalMs;
    this.#trace.record(TAG.phase, this.#livenessTarget, boundMs);
    if (this.#trace.verbose) {
      this.#trace.line(
        `${stampOf(now)} liveness phase: faults off, network healed, crashed nodes restart; every honest node must reach height ${this.#livenessTarget} within ${boundMs}ms (heights now ${heights.join(',')})`,
      );
    }
  }

  #onDecided(node: SimNode, height: number): void {
    this.#decisions.push(node.index, height);
    // Host-side observation: read, never mixed into the trace or fed back into the run.
    this.#heap[node.index]?.push([height, process.memoryUsage().heapUsed]);
    if (this.#phase === 'liveness' && node.honest && height === this.#livenessTarget) this.#reached++;
  }

  /**
   * No honest node that is up holds evidence its pool has not seen committed,
   * and every one of them has executed the last block that carried evidence
   * (so each applied every punishment the chain decided).
   */
  #evidenceSettled(): boolean {
    const last = this.#checkers.lastEvidenceHeight;
    for (const n of this.#nodes) {
      if (!n.honest || !n.alive) continue;
      const app = n.application;
      if ((app?.evidence?.pendingCount ?? 0) > 0 || (app?.height() ?? 0) < last) return false;
    }
    return true;
  }

  #failSettle(): void {
    const last = this.#checkers.lastEvidenceHeight;
    const holding = this.#honestNodes()
      .filter(
        (n) =>
          n.alive &&
          ((n.application?.evidence?.pendingCount ?? 0) > 0 || (n.application?.height() ?? 0) < last),
      )
      .map((n) => `node ${n.index} (${n.application?.evidence?.pendingCount} pending, decided ${n.decided})`);
    this.#checkers.fail(
      'liveness',
      'evidence-stuck',
      `pending evidence not committed (or its block not executed by every honest node) within ${this.#livenessBoundMs}ms after every honest node reached height ${this.#livenessTarget}: ${holding.join(', ') || `last evidence at height ${this.#checkers.lastEvidenceHeight}`}`,
    );
  }

  #failLiveness(): void {
    const behind = this.#honestNodes()
      .filter((n) => n.decided < this.#livenessTarget)
      .map((n) => {
        const p = n.position();
        return `node ${n.index} decided ${n.decided}${p === undefined ? ' (down)' : ` (at h=${p.height} r=${p.round})`}`;
      });
    this.#checkers.fail(
      'liveness',
      'liveness',
      `height ${this.#livenessTarget} not reached within ${this.#livenessDeadlineMs - this.#livenessStartMs}ms of the liveness phase: ${behind.join(', ')}`,
    );
  }

  // ------------------------------------------------------------------ results

  #finalState(): SimFinalState {
    const chain = new Trace();
    const height = this.#checkers.height;
    for (let h = 1; h <= height; h++)
      chain.mix(parseInt((this.#checkers.decidedHash(h) ?? '0').slice(0, 12), 16));
    return {
      height,
      chainHash: chain.hash(),
      nodes: this.#nodes.map((n) => {
        const app = n.application;
        return {
          index: n.index,
          honest: n.honest,
          up: n.alive,
          decided: n.decided,
          stateHash: app === undefined ? undefined : toHex(app.stateHash()),
          punished: app?.slashing === undefined ? undefined : this.#punishedIn(app.slashing),
        };
      }),
    };
  }

  #punishedIn(slashing: SimSlashing): PunishedValidator[] {
    const out: PunishedValidator[] = [];
    this.#addresses.forEach((address, validator) => {
      const st = slashing.status(address);
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
    return {
      heights: c.height,
      extraRounds,
      maxRound,
      messagesSent: k.messagesSent,
      messagesDelivered: this.#network.delivered,
      messagesDropped: this.#network.dropped,
      messagesRejected: k.messagesRejected,
      crashes: k.crashes,
      restarts: k.restarts,
      partitions: k.partitions,
      storms: k.storms,
      catchUps: k.catchUps,
      regossips: k.regossips,
      syncs: k.syncs,
      byzantineActions: { ...k.byzantineActions },
      evidenceReports: c.evidenceReports,
      infractions: c.infractions.size,
      events: this.#events,
      simulatedMs: this.#queue.now,
      livenessStartMs: this.#livenessStartMs,
      safetyHeights: this.#safetyHeights,
      signaturesVerified: this.#oracle.verified,
      evidenceGossip: k.evidenceGossip,
      evidenceRefused: k.evidenceRefused,
      punishments: c.punishmentStats(),
    };
  }
}

function stampOf(ms: number): string {
  return `t=${String(ms).padStart(7)}`;
}
