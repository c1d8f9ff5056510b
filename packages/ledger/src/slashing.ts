import { type ConsensusParams, type Misbehavior, PPM } from '@synod/types';
import type { LedgerState } from './ledger-state.js';
import { JAIL_FOREVER, type ValidatorRecord } from './records.js';
import { unbondingOf } from './staking.js';

/**
 * Slashing hooks: pure functions over a validator record, and the same
 * operations applied to a LedgerState (bonded stake and unbonding entries).
 * They are deterministic (integer ppm arithmetic, no clock) and are what the
 * fault-detector's rules drive: cut stake, jail, tombstone, unjail.
 */

/** floor(amount × fractionPpm / 1,000,000). */
export function fractionOfStake(amount: bigint, fractionPpm: number): bigint {
  if (!Number.isSafeInteger(fractionPpm) || fractionPpm < 0 || fractionPpm > PPM) {
    throw new RangeError(`fractionPpm must be an integer in [0, ${PPM}], got ${fractionPpm}`);
  }
  return (amount * BigInt(fractionPpm)) / BigInt(PPM);
}

/** Cuts `fractionPpm` of the bonded stake; the cut is burned. */
export function slash(
  v: ValidatorRecord,
  fractionPpm: number,
): { validator: ValidatorRecord; burned: bigint } {
  const burned = fractionOfStake(v.bondedStake, fractionPpm);
  return { validator: { ...v, bondedStake: v.bondedStake - burned }, burned };
}

/**
 * Jails until block time `untilMs` (Infinity or anything above JAIL_FOREVER
 * means for ever). An existing longer jail is kept.
 */
export function jail(v: ValidatorRecord, untilMs: number): ValidatorRecord {
  const until = Number.isNaN(untilMs)
    ? JAIL_FOREVER
    : Math.min(Math.max(0, Math.ceil(untilMs)), JAIL_FOREVER);
  const jailedUntilMs = v.jailed ? Math.max(v.jailedUntilMs, until) : until;
  return { ...v, jailed: true, jailedUntilMs };
}

/** Jails for ever and marks the validator as a double signer (it never returns, and is never slashed again). */
export function tombstone(v: ValidatorRecord): ValidatorRecord {
  return { ...v, jailed: true, jailedUntilMs: JAIL_FOREVER, tombstoned: true };
}

export type UnjailProblem =
  | { readonly code: 'TX_NOT_JAILED'; readonly log: string }
  | { readonly code: 'TX_TOMBSTONED'; readonly log: string }
  | { readonly code: 'TX_JAILED_TOO_EARLY'; readonly log: string };

/** Why `v` cannot be unjailed at block time `timeMs`, or undefined when it can. */
export function unjailProblem(v: ValidatorRecord, timeMs: number): UnjailProblem | undefined {
  if (v.tombstoned)
    return { code: 'TX_TOMBSTONED', log: 'validator is tombstoned (double signer) and cannot return' };
  if (!v.jailed) return { code: 'TX_NOT_JAILED', log: 'validator is not jailed' };
  if (timeMs < v.jailedUntilMs) {
    return {
      code: 'TX_JAILED_TOO_EARLY',
      log: `validator is jailed until ${v.jailedUntilMs} ms (block time ${timeMs})`,
    };
  }
  return undefined;
}

export function unjail(v: ValidatorRecord): ValidatorRecord {
  return { ...v, jailed: false, jailedUntilMs: 0 };
}

/** A punishment to apply to a validator in the state. */
export interface Punishment {
  /** Fraction of stake to burn, in ppm (0 for none). */
  readonly slashPpm: number;
  /** Jail until this block time (ms); Infinity for ever; undefined for no jail. */
  readonly jailUntilMs?: number;
  readonly tombstone: boolean;
  /**
   * Height of the infraction: unbonding entries created after it (stake that
   * was bonded when the fault happened) are slashed too. Undefined: bonded stake only.
   */
  readonly infractionHeight?: number;
}

export interface PunishmentOutcome {
  readonly applied: boolean;
  /** Why nothing was done, when `applied` is false. */
  readonly skipped?: 'unknown-validator' | 'tombstoned';
  readonly burnedBonded: bigint;
  readonly burnedUnbonding: bigint;
}

/**
 * Cuts `fractionPpm` of a validator's bonded stake and, when
 * `infractionHeight` is given, of its unbonding entries created after that
 * height. Returns what was burned.
 */
export function slashInState(
  state: LedgerState,
  pubKey: Uint8Array,
  fractionPpm: number,
  infractionHeight?: number,
): { burnedBonded: bigint; burnedUnbonding: bigint } {
  const v = state.validator(pubKey);
  if (v === undefined) return { burnedBonded: 0n, burnedUnbonding: 0n };
  const cut = slash(v, fractionPpm);
  state.setValidator(cut.validator);
  let burnedUnbonding = 0n;
  if (infractionHeight !== undefined) {
    for (const e of unbondingOf(state, pubKey)) {
      if (e.creationHeight <= infractionHeight) continue;
      const b = fractionOfStake(e.amount, fractionPpm);
      burnedUnbonding += b;
      state.setUnbonding({ ...e, amount: e.amount - b });
    }
  }
  return { burnedBonded: cut.burned, burnedUnbonding };
}

export function jailInState(state: LedgerState, pubKey: Uint8Array, untilMs: number): boolean {
  const v = state.validator(pubKey);
  if (v === undefined) return false;
  state.setValidator(jail(v, untilMs));
  return true;
}

export function tombstoneInState(state: LedgerState, pubKey: Uint8Array): boolean {
  const v = state.validator(pubKey);
  if (v === undefined) return false;
  state.setValidator(tombstone(v));
  return true;
}

/**
 * Slash, then jail, then tombstone, as `p` says. A tombstoned validator is
 * never punished again (so one infraction is punished once, whatever evidence
 * of it arrives later).
 */
export function applyPunishment(state: LedgerState, pubKey: Uint8Array, p: Punishment): PunishmentOutcome {
  const v = state.validator(pubKey);
  if (v === undefined)
    return { applied: false, skipped: 'unknown-validator', burnedBonded: 0n, burnedUnbonding: 0n };
  if (v.tombstoned) return { applied: false, skipped: 'tombstoned', burnedBonded: 0n, burnedUnbonding: 0n };
  const burned = slashInState(state, pubKey, p.slashPpm, p.infractionHeight);
  if (p.jailUntilMs !== undefined) jailInState(state, pubKey, p.jailUntilMs);
  if (p.tombstone) tombstoneInState(state, pubKey);
  return { applied: true, ...burned };
}

/**
 * The ledger's rule for committed misbehaviour (duplicate vote or double
 * proposal, both equivocation): slash `doubleSignSlashPpm` of the stake
 * (bonded, and unbonding since the infraction), jail for ever, tombstone.
 */
export function punishMisbehavior(
  state: LedgerState,
  m: Misbehavior,
  params: ConsensusParams,
): PunishmentOutcome {
  const v = state.validatorByAddress(m.validatorAddress);
  if (v === undefined)
    return { applied: false, skipped: 'unknown-validator', burnedBonded: 0n, burnedUnbonding: 0n };
  return applyPunishment(state, v.pubKey, {
    slashPpm: params.slashing.doubleSignSlashPpm,
    jailUntilMs: Number.POSITIVE_INFINITY,
    tombstone: true,
    infractionHeight: m.height,
  });
}

/**
 * Downtime, for the fault-detector's tracker: slash `downtimeSlashPpm` and jail
 * for `downtimeJailDurationMs` from block time `timeMs` (unjail tx afterwards).
 */
export function punishDowntime(
  state: LedgerState,
  pubKey: Uint8Array,
  timeMs: number,
  params: ConsensusParams,
): PunishmentOutcome {
  return applyPunishment(state, pubKey, {
    slashPpm: params.slashing.downtimeSlashPpm,
    jailUntilMs: timeMs + params.slashing.downtimeJailDurationMs,
    tombstone: false,
  });
}
