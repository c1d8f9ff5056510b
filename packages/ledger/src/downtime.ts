import { toHex } from '@synod/crypto';
import { downtimePunishment, newSigningInfo, recordSignature } from '@synod/fault-detector';
import type { CommitInfo, ConsensusParams } from '@synod/types';
import type { LedgerState } from './ledger-state.js';
import type { ValidatorSigningInfo } from './records.js';
import { applyPunishment, type PunishmentOutcome } from './slashing.js';

/**
 * Downtime tracking in the ledger's state: every block records, for each
 * validator of its `decidedLastCommit`, whether it signed, in the
 * fault-detector's sliding window (`recordSignature`); the window lives in the
 * `signingInfo` table, so it is in the app hash, persisted and versioned.
 */

/** A new, empty window starting at block `height`. */
export function freshSigningInfo(height: number, params: ConsensusParams): ValidatorSigningInfo {
  return { startHeight: height, ...newSigningInfo(params.slashing.signedBlocksWindow) };
}

/** Starts the validator's window afresh at block `height` (after a downtime jail, on unjail). */
export function resetSigningInfo(
  state: LedgerState,
  address: Uint8Array,
  height: number,
  params: ConsensusParams,
): void {
  state.setSigningInfo(address, freshSigningInfo(height, params));
}

/**
 * Downtime punishment at block `height` (time `timeMs`): the fault-detector's
 * `downtimePunishment` (slash `downtimeSlashPpm` of the bonded stake, jail
 * until `timeMs + downtimeJailDurationMs`), then the validator's window is
 * reset (as Cosmos does), so it is not punished again for the same misses
 * once it is back.
 */
export function punishDowntime(
  state: LedgerState,
  pubKey: Uint8Array,
  height: number,
  timeMs: number,
  params: ConsensusParams,
): PunishmentOutcome {
  const v = state.validator(pubKey);
  if (v === undefined)
    return { applied: false, skipped: 'unknown-validator', burnedBonded: 0n, burnedUnbonding: 0n };
  const out = applyPunishment(state, pubKey, downtimePunishment(v.bondedStake, timeMs, params), { height });
  if (out.applied) resetSigningInfo(state, v.address, height, params);
  return out;
}

/**
 * Records the signatures of `commit` (the commit of block `height − 1`) in
 * each validator's window and punishes the validators whose window trips.
 * A vote counts once per validator (later duplicates are ignored). Not
 * tracked: addresses the ledger does not know (ignored: no state is created
 * for them) and jailed validators (including tombstoned ones), which are on
 * their way out of the set. Returns the punishments applied, in vote order.
 */
export function trackDowntime(
  state: LedgerState,
  commit: CommitInfo,
  height: number,
  timeMs: number,
  params: ConsensusParams,
): PunishmentOutcome[] {
  const punished: PunishmentOutcome[] = [];
  const seen = new Set<string>();
  for (const vote of commit.votes) {
    const address = vote.validatorAddress;
    if (!(address instanceof Uint8Array) || address.length !== 20) continue;
    const id = toHex(address);
    if (seen.has(id)) continue;
    seen.add(id);
    const v = state.validatorByAddress(address);
    if (v === undefined || v.jailed) continue;
    const stored = state.signingInfo(address);
    // A window of another size (changed params) restarts, as recordSignature would.
    const info =
      stored === undefined || stored.missed.length !== Math.ceil(params.slashing.signedBlocksWindow / 8)
        ? freshSigningInfo(height, params)
        : stored;
    const r = recordSignature(info, vote.signed === true, params);
    state.setSigningInfo(address, { startHeight: info.startHeight, ...r.info });
    if (r.downtime) punished.push(punishDowntime(state, v.pubKey, height, timeMs, params));
  }
  return punished;
}
