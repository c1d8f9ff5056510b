import {
  compareAddresses,
  incrementProposerPriority,
  PRIORITY_WINDOW_SIZE_FACTOR,
  type PriorityValidator,
  safeSubClip,
  totalPower,
} from './priority.js';

/** Largest total power: 2^53 − 1 (JS numbers; CometBFT's MaxInt64 / 8 is larger). */
export const MAX_TOTAL_VOTING_POWER = BigInt(Number.MAX_SAFE_INTEGER);

export type ValidatorSetUpdateProblem =
  | 'duplicate-change'
  | 'negative-power'
  | 'power-too-large'
  | 'unknown-removal'
  | 'removal-not-allowed'
  | 'empty-set'
  | 'total-power-too-large';

export class ValidatorSetUpdateError extends Error {
  readonly problem: ValidatorSetUpdateProblem;
  constructor(problem: ValidatorSetUpdateProblem, message: string) {
    super(message);
    this.name = 'ValidatorSetUpdateError';
    this.problem = problem;
  }
}

function find<V extends PriorityValidator>(set: readonly V[], address: Uint8Array): V | undefined {
  // Sets are small (≤ 10k) and updates rare: a linear scan keeps this independent of the set's order.
  for (const v of set) if (compareAddresses(v.address, address) === 0) return v;
  return undefined;
}

/**
 * CometBFT's `UpdateWithChangeSet`: applies `changes` — new validators, new
 * powers for existing ones, removals as power 0; a change's own
 * `proposerPriority` is ignored — to
 * `validators` and returns the new list sorted by address. New validators
 * start at priority −1.125 × P, where P is the total power after the updates and
 * before the removals; then priorities are rescaled to the 2P window and
 * centred. Throws a `ValidatorSetUpdateError` (leaving the input untouched) on
 * duplicate addresses, negative or oversized powers, removing an unknown
 * validator, an empty result, or a total above `MAX_TOTAL_VOTING_POWER`.
 */
export function applyValidatorChanges<V extends PriorityValidator>(
  validators: readonly V[],
  changes: readonly V[],
  options: { allowRemovals?: boolean } = {},
): V[] {
  if (changes.length === 0) return [...validators].sort((a, b) => compareAddresses(a.address, b.address));
  const sorted = [...changes].sort((a, b) => compareAddresses(a.address, b.address));
  const updates: V[] = [];
  const removals: V[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i] as V;
    if (i > 0 && compareAddresses((sorted[i - 1] as V).address, c.address) === 0) {
      throw new ValidatorSetUpdateError('duplicate-change', 'duplicate validator in the change set');
    }
    if (!Number.isSafeInteger(c.votingPower) || c.votingPower < 0) {
      throw new ValidatorSetUpdateError('negative-power', 'voting power must be a non-negative integer');
    }
    if (BigInt(c.votingPower) > MAX_TOTAL_VOTING_POWER) {
      throw new ValidatorSetUpdateError('power-too-large', 'voting power too large');
    }
    if (c.votingPower === 0) removals.push(c);
    else updates.push(c);
  }
  if (removals.length > 0 && options.allowRemovals === false) {
    throw new ValidatorSetUpdateError('removal-not-allowed', 'removals are not allowed here');
  }
  const added = updates.filter((u) => find(validators, u.address) === undefined).length;
  if (added === 0 && validators.length === removals.length) {
    throw new ValidatorSetUpdateError('empty-set', 'the changes would leave the validator set empty');
  }
  // verifyRemovals
  let removedPower = 0n;
  for (const r of removals) {
    const v = find(validators, r.address);
    if (v === undefined)
      throw new ValidatorSetUpdateError('unknown-removal', 'removing an unknown validator');
    removedPower += BigInt(v.votingPower);
  }
  // verifyUpdates: apply deltas smallest first so that no intermediate sum exceeds the maximum spuriously.
  const delta = (u: V): bigint => {
    const v = find(validators, u.address);
    return BigInt(u.votingPower) - (v === undefined ? 0n : BigInt(v.votingPower));
  };
  const deltas = updates.map(delta).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let tvp = totalPower(validators) - removedPower;
  for (const d of deltas) {
    tvp += d;
    if (tvp > MAX_TOTAL_VOTING_POWER) {
      throw new ValidatorSetUpdateError('total-power-too-large', 'total voting power too large');
    }
  }
  const tvpAfterUpdatesBeforeRemovals = tvp + removedPower;
  // computeNewPriorities: −(P + P/8) for newcomers, unchanged for existing validators.
  const newcomerPriority = -(tvpAfterUpdatesBeforeRemovals + (tvpAfterUpdatesBeforeRemovals >> 3n));
  const byAddress = new Map<string, V>();
  const key = (a: Uint8Array): string => Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  for (const v of validators) byAddress.set(key(v.address), v);
  for (const u of updates) {
    const existing = byAddress.get(key(u.address));
    byAddress.set(key(u.address), {
      ...u,
      proposerPriority: existing === undefined ? newcomerPriority : existing.proposerPriority,
    });
  }
  for (const r of removals) byAddress.delete(key(r.address));
  const merged = [...byAddress.values()].sort((a, b) => compareAddresses(a.address, b.address));
  return rescaleAndCentre(merged);
}

/** The "scale and center" tail of CometBFT's updateWithChangeSet. */
function rescaleAndCentre<V extends PriorityValidator>(validators: readonly V[]): V[] {
  const total = totalPower(validators);
  const diffMax = PRIORITY_WINDOW_SIZE_FACTOR * total;
  let prios = validators.map((v) => v.proposerPriority);
  if (diffMax > 0n) {
    let max = prios[0] as bigint;
    let min = prios[0] as bigint;
    for (const p of prios) {
      if (p > max) max = p;
      if (p < min) min = p;
    }
    let diff = BigInt.asIntN(64, max - min);
    if (diff < 0n) diff = BigInt.asIntN(64, -diff);
    const ratio = BigInt.asIntN(64, diff + diffMax - 1n) / diffMax;
    if (diff > diffMax) prios = prios.map((p) => p / ratio);
  }
  let sum = 0n;
  for (const p of prios) sum += p;
  const n = BigInt(prios.length);
  let avg = sum / n;
  if (sum % n < 0n) avg -= 1n;
  return validators.map((v, i) => ({ ...v, proposerPriority: safeSubClip(prios[i] as bigint, avg) }));
}

/**
 * The validators of a brand-new set (genesis): CometBFT's NewValidatorSet
 * before its first increment — every priority ends up 0 after centring.
 * Returned sorted by address.
 */
export function newValidatorSetPriorities<V extends PriorityValidator>(validators: readonly V[]): V[] {
  return applyValidatorChanges([] as V[], validators, { allowRemovals: false });
}

/**
 * The stored priorities of the next height: one increment of this height's
 * (the run that chose this height's round-0 proposer), then `changes` — the
 * validator updates that take effect at the next height (decided two heights
 * before it). This is CometBFT's `updateState` (NextValidators.Copy(),
 * UpdateWithChangeSet, IncrementProposerPriority(1)) seen one height later.
 */
export function advanceValidatorSet<V extends PriorityValidator>(
  validators: readonly V[],
  changes: readonly V[] = [],
): V[] {
  const incremented = incrementProposerPriority(validators, 1).validators;
  return applyValidatorChanges(incremented, changes);
}
