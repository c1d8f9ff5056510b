import { canUnjail, equivocationPunishment, fractionOf, type Punishment } from '@synod/fault-detector';
import type { ConsensusParams, Misbehavior } from '@synod/types';
import type { LedgerState } from './ledger-state.js';
import { type EquivocationKind, JAIL_FOREVER, type ValidatorRecord } from './records.js';
import { unbondingOf } from './staking.js';

/**
 * How the ledger applies punishments to its state. The rules themselves (how
 * much to cut, how long to jail, whether to tombstone, when an unjail is
 * allowed) are @synod/fault-detector's pure functions (`equivocationPunishment`,
 * `downtimePunishment`, `fractionOf`, `canUnjail`); this module only carries
 * their decisions out: cut stake, jail, tombstone, unjail, and remember what
 * was punished. Deterministic: integer arithmetic, block time from the request.
 */

/** Burns `amount` of the bonded stake (a rule's `slashAmount`). */
export function slash(v: ValidatorRecord, amount: bigint): ValidatorRecord {
  if (amount < 0n || amount > v.bondedStake) {
    throw new RangeError(`slash amount must be in [0, ${v.bondedStake}], got ${amount}`);
  }
  return { ...v, bondedStake: v.bondedStake - amount };
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

/**
 * Why `v` cannot be unjailed at block time `timeMs`, or undefined when it can.
 * The decision is the fault-detector's `canUnjail`; this adds the codes.
 */
export function unjailProblem(v: ValidatorRecord, timeMs: number): UnjailProblem | undefined {
  if (v.tombstoned)
    return { code: 'TX_TOMBSTONED', log: 'validator is tombstoned (double signer) and cannot return' };
  if (!v.jailed) return { code: 'TX_NOT_JAILED', log: 'validator is not jailed' };
  const until = v.jailedUntilMs >= JAIL_FOREVER ? Number.POSITIVE_INFINITY : v.jailedUntilMs;
  if (!canUnjail(until, v.tombstoned, timeMs)) {
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

/**
 * Unbonding entries to cut along with the bonded stake: those of the validator
 * created after `afterHeight` (stake that was bonded when the fault happened),
 * by `fractionPpm`.
 */
export interface UnbondingSlash {
  readonly afterHeight: number;
  readonly fractionPpm: number;
}

/** Where a punishment is applied. */
export interface PunishmentContext {
  /** Height of the block applying it (recorded in the validator's slashing record). */
  readonly height: number;
  /** Also cut unbonding entries (equivocation); undefined: bonded stake only. */
  readonly unbonding?: UnbondingSlash;
}

export interface PunishmentOutcome {
  readonly applied: boolean;
  /** Why nothing was done, when `applied` is false. */
  readonly skipped?: 'unknown-validator' | 'tombstoned' | 'already-punished' | 'malformed';
  readonly burnedBonded: bigint;
  readonly burnedUnbonding: bigint;
  /** The rule's decision, when applied. */
  readonly punishment?: Punishment;
  /** The validator record after the punishment, when applied. */
  readonly validator?: ValidatorRecord;
}

const skipped = (why: NonNullable<PunishmentOutcome['skipped']>): PunishmentOutcome => ({
  applied: false,
  skipped: why,
  burnedBonded: 0n,
  burnedUnbonding: 0n,
});

/**
 * Burns `amount` of a validator's bonded stake (capped at what is bonded) and,
 * with `unbonding`, `fractionPpm` of each of its unbonding entries created
 * after `afterHeight`. Returns what was burned.
 */
export function slashInState(
  state: LedgerState,
  pubKey: Uint8Array,
  amount: bigint,
  unbonding?: UnbondingSlash,
): { burnedBonded: bigint; burnedUnbonding: bigint } {
  const v = state.validator(pubKey);
  if (v === undefined) return { burnedBonded: 0n, burnedUnbonding: 0n };
  const burnedBonded = amount < 0n ? 0n : amount > v.bondedStake ? v.bondedStake : amount;
  state.setValidator(slash(v, burnedBonded));
  let burnedUnbonding = 0n;
  if (unbonding !== undefined) {
    for (const e of unbondingOf(state, pubKey)) {
      if (e.creationHeight <= unbonding.afterHeight) continue;
      const b = fractionOf(e.amount, unbonding.fractionPpm);
      burnedUnbonding += b;
      state.setUnbonding({ ...e, amount: e.amount - b });
    }
  }
  return { burnedBonded, burnedUnbonding };
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
 * Carries out a fault-detector `Punishment`: burn `slashAmount` (and unbonding
 * entries, see `ctx.unbonding`), jail until `jailUntilMs`, tombstone if it
 * says so, and count it in the validator's slashing record. A tombstoned
 * validator is never punished again.
 */
export function applyPunishment(
  state: LedgerState,
  pubKey: Uint8Array,
  p: Punishment,
  ctx: PunishmentContext,
): PunishmentOutcome {
  const v = state.validator(pubKey);
  if (v === undefined) return skipped('unknown-validator');
  if (v.tombstoned) return skipped('tombstoned');
  const burned = slashInState(state, pubKey, p.slashAmount, ctx.unbonding);
  jailInState(state, pubKey, p.jailUntilMs);
  if (p.tombstone) tombstoneInState(state, pubKey);
  const after = state.validator(pubKey) as ValidatorRecord;
  const before = state.slashingRecord(v.address);
  state.setSlashingRecord(v.address, {
    downtimeJails: (before?.downtimeJails ?? 0) + (p.reason === 'downtime' ? 1 : 0),
    equivocations: (before?.equivocations ?? 0) + (p.reason === 'downtime' ? 0 : 1),
    totalBurned: (before?.totalBurned ?? 0n) + burned.burnedBonded + burned.burnedUnbonding,
    lastHeight: ctx.height,
    lastReason: p.reason,
    lastSlashAmount: burned.burnedBonded,
    lastJailUntilMs: after.jailedUntilMs,
  });
  return { applied: true, ...burned, punishment: p, validator: after };
}

const EQUIVOCATIONS: readonly string[] = ['duplicate-vote', 'double-proposal'];

/**
 * The ledger's handling of committed misbehaviour (duplicate vote or double
 * proposal, both equivocation) at block `height`: the fault-detector's
 * `equivocationPunishment` (slash `doubleSignSlashPpm` of the bonded stake,
 * jail for ever, tombstone), plus the same fraction of the unbonding entries
 * created after the infraction height. Once per infraction: a handled
 * infraction (validator, kind, infraction height) is recorded in the state
 * and never punished again, and neither is a tombstoned validator.
 * Misbehaviour naming an unknown address is ignored.
 */
export function punishMisbehavior(
  state: LedgerState,
  m: Misbehavior,
  params: ConsensusParams,
  height: number,
): PunishmentOutcome {
  if (!EQUIVOCATIONS.includes(m.kind) || !Number.isSafeInteger(m.height) || m.height < 0) {
    return skipped('malformed');
  }
  const kind: EquivocationKind = m.kind;
  const v = state.validatorByAddress(m.validatorAddress);
  if (v === undefined) return skipped('unknown-validator');
  if (state.infraction(v.address, kind, m.height) !== undefined) return skipped('already-punished');
  if (v.tombstoned) return skipped('tombstoned');
  const out = applyPunishment(state, v.pubKey, equivocationPunishment(kind, v.bondedStake, params), {
    height,
    unbonding: { afterHeight: m.height, fractionPpm: params.slashing.doubleSignSlashPpm },
  });
  if (out.applied) {
    state.setInfraction(v.address, kind, m.height, {
      punishedAtHeight: height,
      burned: out.burnedBonded + out.burnedUnbonding,
    });
  }
  return out;
}

/** A punishment a block applied: what the ledger logs and reports (`Ledger.lastPunishments`). */
export interface PunishmentEvent {
  /** Height of the block that applied it. */
  readonly height: number;
  /** The validator's consensus address. */
  readonly validator: Uint8Array;
  readonly pubKey: Uint8Array;
  readonly reason: Punishment['reason'];
  /** Bonded stake burned. */
  readonly slashAmount: bigint;
  /** Unbonding stake burned (equivocation only). */
  readonly burnedUnbonding: bigint;
  /** Jailed until this block time (ms); JAIL_FOREVER for ever. */
  readonly jailUntilMs: number;
  readonly tombstoned: boolean;
  /** Height of the equivocation (undefined for downtime). */
  readonly infractionHeight?: number;
}

/** The event of an applied outcome (undefined when nothing was applied). */
export function punishmentEvent(
  out: PunishmentOutcome,
  height: number,
  infractionHeight?: number,
): PunishmentEvent | undefined {
  const v = out.validator;
  const p = out.punishment;
  if (!out.applied || v === undefined || p === undefined) return undefined;
  const base: PunishmentEvent = {
    height,
    validator: v.address,
    pubKey: v.pubKey,
    reason: p.reason,
    slashAmount: out.burnedBonded,
    burnedUnbonding: out.burnedUnbonding,
    jailUntilMs: v.jailedUntilMs,
    tombstoned: v.tombstoned,
  };
  return infractionHeight === undefined ? base : { ...base, infractionHeight };
}
