import type { TimeoutParams } from '@synod/consensus';
import type { AdversaryPlan } from './adversary.js';
import type { NetworkFaults } from './network.js';
import type { Rng } from './rng.js';
import type { SignatureScheme } from './signatures.js';

/** What a caller chooses; everything else comes from the seed. */
export interface SimOptions {
  /** The seed (an unsigned 32-bit integer): it derives every choice of the run. */
  readonly seed: number;
  /** Number of validators, or an inclusive range for the seed to choose from (default 4; 1–100). */
  readonly validators?: number | readonly [number, number];
  /** Byzantine validators (default: as many as stay strictly below 1/3 of the power; 0 disables). */
  readonly byzantine?: number;
  /** Heights of the safety phase (default 12). */
  readonly heights?: number;
  /** Heights every honest node must decide in the liveness phase (default 5). */
  readonly livenessHeights?: number;
  /** Every Byzantine validator behaves so (default: a profile drawn from the seed for each). */
  readonly byzantineProfile?: ByzantineProfile;
  /** Crashes, partitions, loss, duplication and delay storms in the safety phase (default true). */
  readonly faults?: boolean;
  /** Real Ed25519 (default) or the keyed-hash stand-in, for speed (see `SignatureScheme`). */
  readonly signatures?: SignatureScheme;
  /** The transaction workload (signed transfers to `broadcastTx`; default true). */
  readonly workload?: boolean;
  /**
   * The network adversary (Twins and a delivery schedule for one height: see
   * adversary.ts): drawn from the seed by default (never with a
   * `byzantineProfile`); false: none.
   */
  readonly adversary?: boolean;
  /**
   * Swarm testing: the seed turns each fault kind (crashes, partitions,
   * storms) and each deviation of each Byzantine validator on or off
   * (default true; never with a `byzantineProfile`).
   */
  readonly swarm?: boolean;
  /** Readable trace lines: keep them in the result (true) or stream them to a callback. */
  readonly trace?: boolean | ((line: string) => void);
}

/** How a Byzantine validator misbehaves: the probability of each deviation, per message. */
export interface ByzantineProfile {
  /** An own message is not sent at all. */
  readonly silent: number;
  /** A vote goes out in two versions (different values), each to a part of the peers. */
  readonly equivocate: number;
  /** A proposal goes out in two versions (different blocks), each to a part of the peers. */
  readonly doublePropose: number;
  /** A proposal forgets the valid value it must re-propose: a fresh block with polRound −1. */
  readonly amnesia: number;
  /** A proposal carries a block the application rejects (and the proposer votes for it). */
  readonly invalidBlock: number;
  /** A prevote goes to an invalid block (one this validator made) instead. */
  readonly invalidVote: number;
  /**
   * On a proposal from a peer (any round, even of a height it already
   * decided), prevote and precommit it to everyone at once: it backs every
   * value, to help any fork. And when it is the proposer of a round that
   * peers still play at a height it already decided, it proposes another
   * block there (polRound −1) and backs it.
   */
  readonly backAll: number;
  /**
   * As proposer: withhold the proposal from one peer, prevote it to the
   * others only, and precommit it to a single peer (see ByzantineActor).
   */
  readonly splitLocks: number;
  /** With each broadcast, garbage (random bytes, mangled or absurd messages) goes to a peer. */
  readonly garbage: number;
  /**
   * As proposer: one block to one peer (or a minority), another to the rest,
   * and its own votes for the second, so the rest decide it and the victim
   * must learn it by fetching it (issue #11 item 1).
   */
  readonly targetedPropose: number;
  /**
   * With an own vote: a flood of distinct conflicting votes of the same
   * (height, round, type) — made-up block hashes and nil (items 5, 8, 15).
   */
  readonly voteFlood: number;
  /**
   * With an own vote: votes for many future rounds (near, up to and beyond
   * the look-ahead window) and proposals of far rounds it is not the
   * proposer of (items 6, 9, 15).
   */
  readonly roundFlood: number;
  /**
   * With an own precommit: a flood of messages for the next height (votes of
   * many rounds and values, proposals it is not the proposer of), ahead of
   * the honest round-0 proposal (item 7).
   */
  readonly nextHeightFlood: number;
  /**
   * With an own vote: byte-distinct copies of one equivocation (swapped
   * order, other times and powers), evidence against tombstoned validators,
   * and evidence with bad signatures for infractions the honest pools hold;
   * as proposer, such evidence in its block (item 16).
   */
  readonly evidenceFlood: number;
  /**
   * As proposer: its block with a forged last commit (one signature that
   * does not verify) or forged evidence (made-up signatures), by turns of
   * height, and its own votes for it. Drawn by swarm testing alone, for a
   * validator that deviates in nothing else (see `swarm`).
   */
  readonly forgeBlocks: number;
}

/** The attack-strategy fields of a profile (drawn from their own stream: see `chooseAttacks`). */
export type AttackProfile = Pick<
  ByzantineProfile,
  'targetedPropose' | 'voteFlood' | 'roundFlood' | 'nextHeightFlood' | 'evidenceFlood'
>;

/** The fault plan of the safety phase (means of exponential inter-arrival times, in simulated ms). */
export interface FaultPlan {
  readonly crashEveryMs: number;
  readonly downtimeMs: readonly [number, number];
  /** Share of crashes that strike in the middle of a storage operation (the rest strike between events). */
  readonly midOperationCrash: number;
  readonly partitionEveryMs: number;
  readonly partitionMs: readonly [number, number];
  readonly stormEveryMs: number;
  readonly stormMs: readonly [number, number];
  /** The network during a storm. */
  readonly storm: NetworkFaults;
}

/** Every choice of a run, derived from the seed and the options. */
export interface Scenario {
  readonly seed: number;
  readonly validators: number;
  /** Voting power of each validator, in validator-set (address) order; node i is validator i. */
  readonly powers: readonly number[];
  /** Byzantine validators (indices), with their behaviour. */
  readonly byzantine: ReadonlyMap<number, ByzantineProfile>;
  readonly heights: number;
  readonly livenessHeights: number;
  /** The network outside storms (and in the liveness phase). */
  readonly calm: NetworkFaults;
  /** Null when faults are off. */
  readonly faults: FaultPlan | null;
  readonly timeouts: TimeoutParams;
  /** Each node's clock offset from simulated time. */
  readonly clockOffsetsMs: readonly number[];
  /** The nodes' liveness loop period (`livenessIntervalMs`): a node whose height did not move asks a peer. */
  readonly livenessIntervalMs: number;
  /** Simulated time after which the safety phase ends even without reaching `heights`. */
  readonly safetyPhaseMaxMs: number;
  /** The fault kinds this seed turned on (swarm testing; all of them without it). */
  readonly faultKinds: FaultKinds;
  /** The network adversary of the run, if any. */
  readonly adversary: AdversaryPlan | null;
}

/** The fault kinds of the safety phase a seed turns on. */
export interface FaultKinds {
  readonly crash: boolean;
  readonly partition: boolean;
  readonly storm: boolean;
  /**
   * An honest validator dies just after signing a round-0 proposal, loses
   * its WAL (the signer state kept) and restarts at once. Drawn by swarm
   * testing alone: without the signer's guard it would equivocate.
   */
  readonly walLoss: boolean;
}

/** The fault kinds without swarm testing (WAL loss is swarm's alone: see `FaultKinds`). */
export const ALL_FAULT_KINDS: FaultKinds = Object.freeze({
  crash: true,
  partition: true,
  storm: true,
  walLoss: false,
});

export const VALIDATORS_MAX = 100;

export function validatorRange(v: SimOptions['validators']): readonly [number, number] {
  const [lo, hi] = v === undefined ? [4, 4] : typeof v === 'number' ? [v, v] : v;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > VALIDATORS_MAX || lo > hi) {
    throw new RangeError(`validators must be within 1..${VALIDATORS_MAX}`);
  }
  return [lo, hi];
}

/** True when `power` is strictly below 1/3 of `total`. */
export function belowOneThird(power: number, total: number): boolean {
  return 3 * power < total;
}

/** The largest number of validators whose total power stays strictly below 1/3 (the smallest ones). */
export function maxByzantineCount(powers: readonly number[]): number {
  const total = powers.reduce((a, b) => a + b, 0);
  const sorted = [...powers].sort((a, b) => a - b);
  let sum = 0;
  let k = 0;
  for (const p of sorted) {
    if (!belowOneThird(sum + p, total)) break;
    sum += p;
    k++;
  }
  return k;
}

function chooseByzantine(rng: Rng, powers: readonly number[], wanted: number): number[] {
  const total = powers.reduce((a, b) => a + b, 0);
  const count = Math.min(wanted, maxByzantineCount(powers));
  if (count === 0) return [];
  // A random subset of that size that stays below 1/3; else the smallest ones.
  for (let attempt = 0; attempt < 20; attempt++) {
    const pick = rng.shuffle(powers.map((_, i) => i)).slice(0, count);
    if (
      belowOneThird(
        pick.reduce((a, i) => a + (powers[i] as number), 0),
        total,
      )
    )
      return pick.sort((a, b) => a - b);
  }
  return powers
    .map((p, i) => [p, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, count)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}

/** A profile with no deviation at all: spread it and set the ones a test wants. */
export const NO_DEVIATIONS: ByzantineProfile = Object.freeze({
  silent: 0,
  equivocate: 0,
  doublePropose: 0,
  amnesia: 0,
  invalidBlock: 0,
  invalidVote: 0,
  backAll: 0,
  splitLocks: 0,
  garbage: 0,
  targetedPropose: 0,
  voteFlood: 0,
  roundFlood: 0,
  nextHeightFlood: 0,
  evidenceFlood: 0,
  forgeBlocks: 0,
});

/** No attack strategy (the profile of a `silent: 1` validator, and the seeds that draw none). */
const NO_ATTACKS: AttackProfile = {
  targetedPropose: 0,
  voteFlood: 0,
  roundFlood: 0,
  nextHeightFlood: 0,
  evidenceFlood: 0,
};

/**
 * The attack strategies of one Byzantine validator, from the scenario's
 * attack stream (its own, so that the deviations drawn before these
 * strategies existed, and the runs of seeds that draw none, stay as they
 * were). Each is on in about a third of the Byzantine validators; floods are
 * rare per message (their size is bounded by the actor's flood budget).
 */
export function chooseAttacks(rng: Rng): AttackProfile {
  const level = (p: number, scale: number): number => (rng.chance(p) ? scale * (0.3 + 0.7 * rng.float()) : 0);
  return {
    targetedPropose: level(0.35, 0.6),
    voteFlood: level(0.3, 0.08),
    roundFlood: level(0.3, 0.08),
    nextHeightFlood: level(0.3, 0.3),
    evidenceFlood: level(0.35, 0.15),
  };
}

function chooseProfile(rng: Rng): Omit<ByzantineProfile, keyof AttackProfile> {
  if (rng.chance(0.15)) return { ...NO_DEVIATIONS, silent: 1 };
  const level = (p: number): number => (rng.chance(p) ? 0.2 + 0.7 * rng.float() : 0);
  return {
    silent: level(0.3) * 0.3,
    equivocate: level(0.7),
    doublePropose: level(0.5),
    amnesia: level(0.5),
    invalidBlock: level(0.4),
    invalidVote: level(0.4),
    backAll: level(0.6),
    splitLocks: level(0.4),
    garbage: level(0.4) * 0.15,
    forgeBlocks: 0,
  };
}

/**
 * Derives the scenario from the seed's scenario stream `rng`. Powers are
 * drawn for validator-set positions (the caller sorts the keys by address
 * first), so one seed always gives the same validator set.
 *
 * With `punishes` (an application that jails validators for downtime), the
 * commit wait is at least twice the calm network's largest delay, as a
 * chain that punishes downtime must configure it: a validator that is up and
 * in step then always gets its precommit into the next block's last commit
 * (the proposer builds that block a commit wait after its decision, and the
 * validator's precommit is at most two hops behind the decision). With a
 * shorter wait, a correct but distant validator can miss every commit while
 * the others run ahead, and be jailed for it.
 */
export function deriveScenario(
  options: SimOptions,
  rng: Rng,
  validators: number,
  punishes = false,
  attackRng?: Rng,
): Scenario {
  const equal = rng.chance(0.5);
  const powers = Array.from({ length: validators }, () => (equal ? 10 : rng.int(1, 20)));
  const byzIdx = chooseByzantine(rng, powers, options.byzantine ?? Number.MAX_SAFE_INTEGER);
  const byzantine = new Map<number, ByzantineProfile>();
  for (const i of byzIdx) {
    const drawn = chooseProfile(rng);
    const attacks = attackRng === undefined ? NO_ATTACKS : chooseAttacks(attackRng);
    byzantine.set(i, options.byzantineProfile ?? { ...drawn, ...(drawn.silent >= 1 ? NO_ATTACKS : attacks) });
  }

  const scale = rng.pick([0.25, 0.5, 1]);
  let timeouts: TimeoutParams = {
    proposeMs: Math.round(1000 * scale),
    proposeDeltaMs: Math.round(500 * scale),
    prevoteMs: Math.round(500 * scale),
    prevoteDeltaMs: Math.round(500 * scale),
    precommitMs: Math.round(500 * scale),
    precommitDeltaMs: Math.round(500 * scale),
    capMs: Math.round(30_000 * scale),
    commitMs: rng.int(20, 100),
  };
  const maxDelay = rng.int(5, Math.max(6, Math.round(150 * scale)));
  if (punishes) timeouts = { ...timeouts, commitMs: timeouts.commitMs + 2 * maxDelay };
  const calm: NetworkFaults = { minDelayMs: 1, maxDelayMs: maxDelay, lossRate: 0, duplicateRate: 0 };
  const roundMs = timeouts.proposeMs + timeouts.prevoteMs + timeouts.precommitMs;
  const faultsOn = options.faults ?? true;
  // Faults come at the pace of heights (a calm height takes about a commit wait and three hops),
  // and last up to a few rounds, so that they strike in every phase of a height.
  // Some seeds are hostile: faults come several times as often.
  const heightMs = (timeouts.commitMs + 2 * maxDelay + 10) / rng.pick([1, 1, 1, 2, 3]);
  const faults: FaultPlan | null = faultsOn
    ? {
        crashEveryMs: rng.int(4, 30) * heightMs,
        downtimeMs: [heightMs, rng.int(1, 3) * roundMs],
        midOperationCrash: rng.float(),
        partitionEveryMs: rng.int(6, 30) * heightMs,
        partitionMs: [heightMs, rng.int(1, 3) * roundMs],
        stormEveryMs: rng.int(4, 20) * heightMs,
        stormMs: [heightMs, rng.int(1, 2) * roundMs],
        storm: {
          minDelayMs: 1,
          maxDelayMs: rng.int(maxDelay, Math.max(maxDelay, Math.round(2 * roundMs))),
          lossRate: rng.chance(0.7) ? 0.4 * rng.float() : 0,
          duplicateRate: rng.chance(0.5) ? 0.3 * rng.float() : 0,
        },
      }
    : null;
  const heights = options.heights ?? 12;
  return {
    seed: options.seed >>> 0,
    validators,
    powers,
    byzantine,
    heights,
    livenessHeights: options.livenessHeights ?? 5,
    calm,
    faults,
    timeouts,
    clockOffsetsMs: Array.from({ length: validators }, () => rng.int(0, 50)),
    livenessIntervalMs: Math.max(10, Math.round(timeouts.commitMs / 2)),
    safetyPhaseMaxMs: heights * 10 * roundMs,
    faultKinds: ALL_FAULT_KINDS,
    adversary: null,
  };
}

/**
 * Swarm testing (Groce et al. 2012): from the seed's swarm stream, each
 * fault kind is on with probability 0.7 and each deviation of each Byzantine
 * validator is kept with probability 0.6, so that a seed runs a random
 * subset of the kinds instead of all of them mixed (one kind can mask
 * another: a storm drowns a split, a flood gets its sender jailed first).
 */
export function swarm(s: Scenario, rng: Rng): Scenario {
  const kinds = {
    crash: rng.chance(0.7),
    partition: rng.chance(0.7),
    storm: rng.chance(0.7),
  };
  const byzantine = new Map<number, ByzantineProfile>();
  for (const [i, p] of s.byzantine) {
    if (p.silent >= 1) {
      byzantine.set(i, p);
      continue;
    }
    const kept = { ...p } as Record<keyof ByzantineProfile, number>;
    for (const k of Object.keys(kept) as (keyof ByzantineProfile)[]) if (!rng.chance(0.6)) kept[k] = 0;
    byzantine.set(i, kept);
  }
  // Drawn after the rest (the seeds that do not draw it stay as they were): in a quarter of
  // the seeds with a Byzantine validator, one of them deviates in nothing but forging every
  // block it proposes, so the honest nodes' commit and evidence verification is all that
  // stands between it and a decided forged block.
  if (byzantine.size > 0 && rng.chance(0.25)) {
    const ids = [...byzantine.keys()].sort((a, b) => a - b);
    byzantine.set(rng.pick(ids), { ...NO_DEVIATIONS, forgeBlocks: 1 });
  }
  // Drawn last, for the same reason: WAL loss in half of the seeds.
  const faultKinds: FaultKinds = { ...kinds, walLoss: rng.chance(0.5) };
  return { ...s, faultKinds, byzantine };
}

/** One line describing a scenario (printed at the start of a run). */
export function describeScenario(s: Scenario): string {
  const byz = [...s.byzantine.entries()].map(([i, p]) => `${i}:${profileName(p)}`).join(',');
  const f = s.faults;
  return [
    `validators=${s.validators}`,
    `powers=${s.powers.join(',')}`,
    `byzantine=${byz === '' ? 'none' : byz}`,
    `heights=${s.heights}+${s.livenessHeights}`,
    `timeouts=${s.timeouts.proposeMs}/${s.timeouts.prevoteMs}/${s.timeouts.precommitMs}ms commit=${s.timeouts.commitMs}ms`,
    `delay=${s.calm.minDelayMs}-${s.calm.maxDelayMs}ms`,
    f === null
      ? 'faults=off'
      : `faults=${
          [
            s.faultKinds.crash ? `crash/${Math.round(f.crashEveryMs)}ms` : '',
            s.faultKinds.partition ? `partition/${Math.round(f.partitionEveryMs)}ms` : '',
            s.faultKinds.walLoss ? `wal-loss/${Math.round(f.crashEveryMs)}ms` : '',
            s.faultKinds.storm
              ? `storm/${Math.round(f.stormEveryMs)}ms(loss=${f.storm.lossRate.toFixed(2)},dup=${f.storm.duplicateRate.toFixed(2)},delay<=${f.storm.maxDelayMs}ms)`
              : '',
          ]
            .filter((k) => k !== '')
            .join(' ') || 'none'
        }`,
    ...(s.adversary === null
      ? []
      : [
          `adversary=${s.adversary.kind}@h${s.adversary.height}(twins of ${s.adversary.twinOf}${s.adversary.kind === 'partitions' ? ` ${s.adversary.partitions.map((g) => g.join('')).join('/')}` : ''})`,
        ]),
  ].join(' ');
}

export function profileName(p: ByzantineProfile): string {
  if (p.silent >= 1) return 'silent';
  const parts: string[] = [];
  if (p.equivocate > 0) parts.push('equivocate');
  if (p.doublePropose > 0) parts.push('double-propose');
  if (p.amnesia > 0) parts.push('amnesia');
  if (p.invalidBlock > 0) parts.push('invalid-block');
  if (p.invalidVote > 0) parts.push('invalid-vote');
  if (p.backAll > 0) parts.push('back-all');
  if (p.splitLocks > 0) parts.push('split-locks');
  if (p.garbage > 0) parts.push('garbage');
  if (p.targetedPropose > 0) parts.push('targeted-propose');
  if (p.voteFlood > 0) parts.push('vote-flood');
  if (p.roundFlood > 0) parts.push('round-flood');
  if (p.nextHeightFlood > 0) parts.push('next-height-flood');
  if (p.evidenceFlood > 0) parts.push('evidence-flood');
  if (p.forgeBlocks > 0) parts.push('forge-blocks');
  if (p.silent > 0) parts.push('lossy');
  return parts.length === 0 ? 'honest-acting' : parts.join('+');
}
