import { type ConsensusParams, PPM } from '@synod/types';

/**
 * Slashing rules, pure. The ledger applies them when evidence is committed (or
 * when the downtime window trips): it cuts stake, jails, tombstones.
 */
export interface Punishment {
  readonly reason: 'double-sign' | 'double-proposal' | 'downtime';
  /** Stake to burn (floor(stake × fraction)). */
  readonly slashAmount: bigint;
  /** Jailed until this block time (ms); `Infinity` for ever. */
  readonly jailUntilMs: number;
  /** Never allowed back (double signers). */
  readonly tombstone: boolean;
}

/** floor(amount × ppm / 1,000,000), exact in bigint. */
export function fractionOf(amount: bigint, ppm: number): bigint {
  if (!Number.isInteger(ppm) || ppm < 0 || ppm > PPM) throw new RangeError(`ppm out of range: ${ppm}`);
  return (amount * BigInt(ppm)) / BigInt(PPM);
}

/**
 * Double sign (duplicate vote) or double proposal: slash doubleSignSlashPpm,
 * jail for ever, tombstone. Both are equivocation: signing two conflicting
 * messages for one slot.
 */
export function equivocationPunishment(
  kind: 'duplicate-vote' | 'double-proposal',
  stake: bigint,
  params: ConsensusParams,
): Punishment {
  return {
    reason: kind === 'duplicate-vote' ? 'double-sign' : 'double-proposal',
    slashAmount: fractionOf(stake, params.slashing.doubleSignSlashPpm),
    jailUntilMs: Number.POSITIVE_INFINITY,
    tombstone: true,
  };
}

/** Downtime: slash downtimeSlashPpm, jail for downtimeJailDurationMs from the block time. */
export function downtimePunishment(stake: bigint, blockTimeMs: number, params: ConsensusParams): Punishment {
  return {
    reason: 'downtime',
    slashAmount: fractionOf(stake, params.slashing.downtimeSlashPpm),
    jailUntilMs: blockTimeMs + params.slashing.downtimeJailDurationMs,
    tombstone: false,
  };
}

/** Whether an unjail at `blockTimeMs` is allowed for a validator jailed until `jailUntilMs`. */
export function canUnjail(jailUntilMs: number, tombstoned: boolean, blockTimeMs: number): boolean {
  return !tombstoned && Number.isFinite(jailUntilMs) && blockTimeMs >= jailUntilMs;
}
