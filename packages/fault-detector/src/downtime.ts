import { type ConsensusParams, countsAsSigned, PPM } from '@synod/types';

/**
 * Downtime tracking over a sliding window of blocks (as Cosmos' x/slashing):
 * for every validator, a bitmap of the last `signedBlocksWindow` heights it was
 * expected to sign, and the count of misses in it. Pure and serialisable: the
 * application keeps it in its state (so every node agrees and it is in the app
 * hash).
 */
export interface SigningInfo {
  /** Heights recorded since the validator (re)joined or was last reset. */
  readonly recorded: number;
  /** Ring bitmap of misses, one bit per window slot. */
  readonly missed: Uint8Array;
  readonly missedCount: number;
}

/**
 * Whether a validator's entry in a block's last commit counts as signing that
 * block for downtime (the Cosmos rule: only an absent signature is a miss).
 * Defined in @synod/types, next to `CommitInfo` whose `signed` it fills
 * (`commitInfoFromBlock`); re-exported here, the downtime rules' home.
 */
export { countsAsSigned };

export function newSigningInfo(window: number): SigningInfo {
  return { recorded: 0, missed: new Uint8Array(Math.ceil(window / 8)), missedCount: 0 };
}

/** Most misses allowed within the window: window − ceil(window × minSigned). */
export function maxMissedBlocks(params: ConsensusParams): number {
  const w = params.slashing.signedBlocksWindow;
  const minSigned = Math.ceil((w * params.slashing.minSignedPerWindowPpm) / PPM);
  return w - minSigned;
}

/**
 * Records whether the validator signed the block at the next slot. Returns the
 * new info and whether the validator is now to be punished for downtime (only
 * once a full window has been observed, as in Cosmos).
 */
export function recordSignature(
  info: SigningInfo,
  signed: boolean,
  params: ConsensusParams,
): { info: SigningInfo; downtime: boolean } {
  const window = params.slashing.signedBlocksWindow;
  // A changed window size restarts the record (the old bitmap has other slots).
  const base = info.missed.length === Math.ceil(window / 8) ? info : newSigningInfo(window);
  const missed = base.missed.slice();
  const slot = base.recorded % window;
  const byte = slot >> 3;
  const bit = 1 << (slot & 7);
  const wasMissed = ((missed[byte] as number) & bit) !== 0;
  let missedCount = base.missedCount;
  if (wasMissed && signed) {
    missed[byte] = (missed[byte] as number) & ~bit;
    missedCount--;
  } else if (!wasMissed && !signed) {
    missed[byte] = (missed[byte] as number) | bit;
    missedCount++;
  }
  const recorded = base.recorded + 1;
  const downtime = recorded >= window && missedCount > maxMissedBlocks(params);
  return { info: { recorded, missed, missedCount }, downtime };
}
