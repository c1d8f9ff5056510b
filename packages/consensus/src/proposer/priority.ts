/**
 * CometBFT's proposer priorities (spec/consensus/proposer-selection.md and
 * types/validator_set.go), with int64 semantics on bigint: additions and
 * subtractions clip to the int64 bounds, the window rescale divides with Go's
 * truncating division, and centring uses big.Int's Euclidean (floor) division.
 *
 * Everything here works on plain arrays of `PriorityValidator` and returns new
 * arrays; nothing is mutated in place.
 */

import { compareBytes } from '@synod/crypto';

/** The part of a validator proposer selection needs (structurally a @synod/types Validator). */
export interface PriorityValidator {
  readonly address: Uint8Array;
  readonly votingPower: number;
  readonly proposerPriority: bigint;
}

export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

/** CometBFT's PriorityWindowSizeFactor: priorities are kept within 2 × total power of each other. */
export const PRIORITY_WINDOW_SIZE_FACTOR = 2n;

/** Go's int64 wrap-around. */
function wrap64(x: bigint): bigint {
  return BigInt.asIntN(64, x);
}

/** CometBFT's safeAddClip. */
export function safeAddClip(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s > INT64_MAX ? INT64_MAX : s < INT64_MIN ? INT64_MIN : s;
}

/** CometBFT's safeSubClip. */
export function safeSubClip(a: bigint, b: bigint): bigint {
  const s = a - b;
  return s > INT64_MAX ? INT64_MAX : s < INT64_MIN ? INT64_MIN : s;
}

/** Validators are ordered by address, bytewise (ties in proposer priority break on it). */
export const compareAddresses: (a: Uint8Array, b: Uint8Array) => number = compareBytes;

export function totalPower(validators: readonly PriorityValidator[]): bigint {
  let t = 0n;
  for (const v of validators) t += BigInt(v.votingPower);
  return t;
}

/** Mutable working copy used inside one operation. */
interface Slot {
  readonly address: Uint8Array;
  readonly power: bigint;
  priority: bigint;
}

function toSlots(validators: readonly PriorityValidator[]): Slot[] {
  return validators.map((v) => ({
    address: v.address,
    power: BigInt(v.votingPower),
    priority: v.proposerPriority,
  }));
}

function fromSlots<V extends PriorityValidator>(validators: readonly V[], slots: readonly Slot[]): V[] {
  return validators.map((v, i) => ({ ...v, proposerPriority: (slots[i] as Slot).priority }));
}

/** computeMaxMinPriorityDiff, including Go's overflow behaviour. */
function maxMinDiff(slots: readonly Slot[]): bigint {
  let max = INT64_MIN;
  let min = INT64_MAX;
  for (const s of slots) {
    if (s.priority < min) min = s.priority;
    if (s.priority > max) max = s.priority;
  }
  const diff = wrap64(max - min);
  return diff < 0n ? wrap64(-diff) : diff;
}

/** RescalePriorities: if max − min > diffMax, divide every priority by ceil(diff / diffMax). */
function rescale(slots: Slot[], diffMax: bigint): void {
  if (diffMax <= 0n) return;
  const diff = maxMinDiff(slots);
  const ratio = wrap64(diff + diffMax - 1n) / diffMax;
  if (diff > diffMax) {
    for (const s of slots) s.priority = s.priority / ratio; // Go: truncation toward zero, as bigint
  }
}

/** computeAvgProposerPriority: big.Int Div is Euclidean, i.e. floor for a positive divisor. */
function averagePriority(slots: readonly Slot[]): bigint {
  let sum = 0n;
  for (const s of slots) sum += s.priority;
  const n = BigInt(slots.length);
  let q = sum / n;
  if (sum % n < 0n) q -= 1n;
  return q;
}

function shiftByAverage(slots: Slot[]): void {
  const avg = averagePriority(slots);
  for (const s of slots) s.priority = safeSubClip(s.priority, avg);
}

/** Index of the highest priority; ties go to the lower address (CompareProposerPriority). */
function mostPriority(slots: readonly Slot[]): number {
  let best = 0;
  for (let i = 1; i < slots.length; i++) {
    const s = slots[i] as Slot;
    const b = slots[best] as Slot;
    if (
      s.priority > b.priority ||
      (s.priority === b.priority && compareAddresses(s.address, b.address) < 0)
    ) {
      best = i;
    }
  }
  return best;
}

/** One run of the selection: everyone gains their power, the maximum pays the total. Returns the proposer. */
function incrementOnce(slots: Slot[], total: bigint): number {
  for (const s of slots) s.priority = safeAddClip(s.priority, s.power);
  const p = mostPriority(slots);
  const s = slots[p] as Slot;
  s.priority = safeSubClip(s.priority, total);
  return p;
}

function assertNonEmpty(validators: readonly PriorityValidator[]): void {
  if (validators.length === 0) throw new RangeError('empty validator set');
}

/**
 * CometBFT's `IncrementProposerPriority(times)`: rescale to the window,
 * centre on the average, then run the selection `times` times. Returns the new
 * priorities and the proposer chosen by the last run (an index into the input).
 */
export function incrementProposerPriority<V extends PriorityValidator>(
  validators: readonly V[],
  times: number,
): { validators: V[]; proposer: number } {
  assertNonEmpty(validators);
  if (!Number.isInteger(times) || times <= 0) throw new RangeError('times must be a positive integer');
  const slots = toSlots(validators);
  const total = totalPower(validators);
  rescale(slots, PRIORITY_WINDOW_SIZE_FACTOR * total);
  shiftByAverage(slots);
  let proposer = 0;
  for (let i = 0; i < times; i++) proposer = incrementOnce(slots, total);
  return { validators: fromSlots(validators, slots), proposer };
}

/**
 * The proposers of successive rounds of one height, computed lazily and
 * cached. `validators` carries the height's stored priorities (those before the
 * height's first increment; genesis priorities are 0). Then, exactly as
 * CometBFT: the height's set is `IncrementProposerPriority(1)` of them (its
 * chosen validator proposes round 0), and round r > 0 is proposed by the
 * validator chosen by `IncrementProposerPriority(r)` of the height's set — one
 * rescale and centring, then r runs, extended here one run at a time.
 */
export class ProposerSchedule {
  private readonly proposers: number[] = [];
  private readonly slots: Slot[];
  private readonly total: bigint;

  constructor(validators: readonly PriorityValidator[]) {
    assertNonEmpty(validators);
    const atHeight = incrementProposerPriority(validators, 1);
    this.proposers.push(atHeight.proposer);
    this.total = totalPower(validators);
    this.slots = toSlots(atHeight.validators);
    rescale(this.slots, PRIORITY_WINDOW_SIZE_FACTOR * this.total);
    shiftByAverage(this.slots);
  }

  /** Index (into the set) of the proposer of `round`. O(n) per round not yet computed. */
  proposer(round: number): number {
    if (!Number.isInteger(round) || round < 0) throw new RangeError('round must be a non-negative integer');
    while (this.proposers.length <= round) this.proposers.push(incrementOnce(this.slots, this.total));
    return this.proposers[round] as number;
  }
}

/** Index of the proposer of (the set's height, `round`). */
export function proposerIndex(validators: readonly PriorityValidator[], round: number): number {
  return new ProposerSchedule(validators).proposer(round);
}
