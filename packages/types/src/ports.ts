/**
 * Ports shared by @synod/consensus (which drives them) and @synod/storage (which
 * implements them on disk). They live here so neither package depends on the
 * other.
 */

/** The three kinds of message a validator signs in consensus, in step order. */
export type SignStep = 'proposal' | 'prevote' | 'precommit';

/** Numeric order of a sign step inside one (height, round): proposal < prevote < precommit. */
export const SIGN_STEP_ORDER: Readonly<Record<SignStep, number>> = {
  proposal: 1,
  prevote: 2,
  precommit: 3,
};

/** What a validator last signed (persisted before the signature leaves the process). */
export interface LastSignState {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  /** The exact bytes that were signed. */
  readonly signBytes: Uint8Array;
  /** The signature over `signBytes`. */
  readonly signature: Uint8Array;
}

/** A request to sign one consensus message. */
export interface SignRequest {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly signBytes: Uint8Array;
}

/** Durable storage of a validator's last-sign state (atomic replace + fsync). */
export interface SignerStateStore {
  /** The last persisted state, or undefined for a fresh validator. */
  load(): Promise<LastSignState | undefined>;
  /** Persist `state`; resolves only once it is durable (fsync'd). */
  save(state: LastSignState): Promise<void>;
}

/**
 * The consensus signer. `sign` resolves with a signature only after the new
 * last-sign state is durable; it rejects (with a SynodError of code
 * `SIGNER_DOUBLE_SIGN` or `SIGNER_REGRESSION`) a request that would regress
 * below the last signed (height, round, step), or that asks for different bytes
 * at the same (height, round, step). Identical bytes at the same (height, round,
 * step) return the stored signature (idempotent re-sign after a restart).
 */
export interface Signer {
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  sign(request: SignRequest): Promise<Uint8Array>;
}

/** One record read back from the consensus WAL. */
export interface WalRecord {
  /** Opaque record bytes as written by the consensus engine. */
  readonly data: Uint8Array;
}

/**
 * The consensus write-ahead log. Records are opaque to storage; the consensus
 * engine encodes them. Heights are closed by an end-of-height marker.
 */
export interface ConsensusWal {
  /**
   * Append one record. With `sync: true` the promise resolves only after the
   * record (and everything before it) is fsync'd — the engine uses this for the
   * node's own signed messages. Without it, the record is buffered/written but
   * may be lost on a crash.
   */
  append(data: Uint8Array, options?: { sync?: boolean }): Promise<void>;
  /**
   * Write the end-of-height marker for `height`; fsync'd unless `sync` is
   * false. An unsynced marker becomes durable with the next synced record (or
   * `sync()`), which the file order makes cover it; a crash before that can
   * lose it, and `recordsAfterEndHeight` then answers `undefined` for it.
   */
  writeEndHeight(height: number, options?: { sync?: boolean }): Promise<void>;
  /**
   * Records written after the end-of-height marker of `height` (so the records
   * of height + 1 onward), in write order. Returns `undefined` when no marker
   * for `height` exists (and `height` is not the WAL's base height).
   */
  recordsAfterEndHeight(height: number): Promise<WalRecord[] | undefined>;
  /** fsync everything appended so far. */
  sync(): Promise<void>;
  close(): Promise<void>;
}
