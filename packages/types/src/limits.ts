/**
 * Hard bounds of the wire format. Decoders reject anything larger before
 * parsing; consensus params may set tighter limits (never looser).
 */
export const LIMITS = {
  /** Longest chain id, in UTF-8 bytes. */
  chainIdBytesMax: 50,
  /** Most validators in one set. */
  validatorsMax: 10_000,
  /** Largest single transaction, in bytes. */
  txBytesMax: 1024 * 1024,
  /** Most transactions in one block. */
  blockTxsMax: 100_000,
  /** Most evidence items in one block. */
  blockEvidenceMax: 1_000,
  /** Largest encoded block, in bytes (consensus params' block.maxBytes must not exceed it). */
  blockBytesMax: 64 * 1024 * 1024,
  /**
   * Largest consensus WAL record, in bytes: a block of `blockBytesMax` with
   * the signed proposal and framing that come with it (under 1 KiB; 4 KiB of
   * room). The WAL's record limit is this, so any block a peer can send or the
   * params allow fits (a smaller WAL limit would halt every honest engine on a
   * large proposal).
   */
  walRecordBytesMax: 64 * 1024 * 1024 + 4096,
  /** Largest transaction memo, in bytes. */
  memoBytesMax: 256,
  /** Largest round number accepted off the wire (0xffffffff is reserved for "no round"). */
  roundMax: 0xffff_fffe,
} as const;
