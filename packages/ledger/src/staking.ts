import { fromHex, toHex } from '@synod/crypto';
import { type ConsensusParams, MAX_TOTAL_VOTING_POWER, type ValidatorUpdate } from '@synod/types';
import { compareBytes, equalBytes } from './bytes.js';
import type { LedgerState } from './ledger-state.js';
import type { UnbondingEntry, ValidatorRecord } from './records.js';

/** Base units of bonded stake per unit of voting power. */
export const POWER_REDUCTION = 1_000_000n;

/**
 * The largest power one validator can have, so that the whole set stays within
 * MAX_TOTAL_VOTING_POWER (quorum arithmetic must stay exact).
 */
export function maxPowerPerValidator(maxValidators: number): number {
  return Math.floor(MAX_TOTAL_VOTING_POWER / Math.max(1, maxValidators));
}

/** Voting power of a stake: floor(stake / POWER_REDUCTION), capped per validator. */
export function powerOfStake(stake: bigint, maxValidators: number): number {
  const p = stake / POWER_REDUCTION;
  const cap = BigInt(maxPowerPerValidator(maxValidators));
  return Number(p > cap ? cap : p);
}

/** Voting power of a validator record: 0 when jailed. */
export function validatorPower(v: ValidatorRecord, maxValidators: number): number {
  return v.jailed ? 0 : powerOfStake(v.bondedStake, maxValidators);
}

/** A member of the validator set, with its address (for ordering). */
export interface SetMember {
  readonly pubKey: Uint8Array;
  readonly address: Uint8Array;
  readonly power: number;
}

/**
 * The validator set the state implies: non-jailed validators with power > 0,
 * the `maxValidators` largest by power (ties: lower address first), returned
 * sorted by address.
 */
export function selectValidatorSet(
  validators: readonly ValidatorRecord[],
  maxValidators: number,
): SetMember[] {
  const candidates: SetMember[] = [];
  for (const v of validators) {
    const power = validatorPower(v, maxValidators);
    if (power > 0) candidates.push({ pubKey: v.pubKey, address: v.address, power });
  }
  candidates.sort((a, b) => b.power - a.power || compareBytes(a.address, b.address));
  return candidates.slice(0, maxValidators).sort((a, b) => compareBytes(a.address, b.address));
}

/**
 * Recomputes the validator set from the state, stores it as the active set and
 * returns the difference from the previous one (new or changed power; 0 for
 * removed), sorted by address. When the new set would be empty the previous
 * set is kept and nothing is returned: a chain cannot run without validators.
 */
export function updateValidatorSet(state: LedgerState, params: ConsensusParams): ValidatorUpdate[] {
  const next = selectValidatorSet(state.validators(), params.staking.maxValidators);
  if (next.length === 0) return [];
  const previous = new Map<string, number>();
  for (const a of state.activeSet()) previous.set(toHex(a.pubKey), a.power);
  const updates: { address: Uint8Array; update: ValidatorUpdate }[] = [];
  for (const m of next) {
    const id = toHex(m.pubKey);
    const before = previous.get(id);
    previous.delete(id);
    if (before !== m.power) {
      updates.push({ address: m.address, update: { pubKey: m.pubKey, power: m.power } });
      state.setActivePower(m.pubKey, m.power);
    }
  }
  for (const id of previous.keys()) {
    const pubKey = fromHex(id);
    const v = state.validator(pubKey);
    const address = v?.address ?? pubKey.subarray(0, 20);
    updates.push({ address, update: { pubKey, power: 0 } });
    state.setActivePower(pubKey, 0);
  }
  updates.sort((a, b) => compareBytes(a.address, b.address));
  return updates.map((u) => u.update);
}

/**
 * Moves `amount` of a validator's bonded stake into the unbonding queue,
 * released to the operator at `height + unbondingBlocks`. Unbonds of one
 * validator in one block share an entry.
 */
export function startUnbonding(
  state: LedgerState,
  v: ValidatorRecord,
  amount: bigint,
  height: number,
  params: ConsensusParams,
): UnbondingEntry {
  const releaseHeight = height + params.staking.unbondingBlocks;
  state.setValidator({ ...v, bondedStake: v.bondedStake - amount });
  const existing = state.unbonding(releaseHeight, v.pubKey);
  const entry: UnbondingEntry = {
    validatorPubKey: v.pubKey,
    operator: v.operator,
    amount: (existing?.amount ?? 0n) + amount,
    creationHeight: height,
    releaseHeight,
  };
  state.setUnbonding(entry);
  return entry;
}

/** Credits every entry released at or before `height` to its operator; returns them in key order. */
export function releaseUnbonding(state: LedgerState, height: number): UnbondingEntry[] {
  const released: UnbondingEntry[] = [];
  for (const e of state.unbondingEntries()) {
    if (e.releaseHeight > height) break;
    const a = state.account(e.operator);
    state.setAccount(e.operator, { balance: a.balance + e.amount, nonce: a.nonce });
    state.deleteUnbonding(e);
    released.push(e);
  }
  return released;
}

/** The unbonding entries of one validator. */
export function unbondingOf(state: LedgerState, pubKey: Uint8Array): UnbondingEntry[] {
  return state.unbondingEntries().filter((e) => equalBytes(e.validatorPubKey, pubKey));
}
