/**
 * The key files of a home folder (@synod/crypto's key-file format, mode
 * 0600) and the signer's initial state.
 */
import { sign } from '@synod/crypto';
import { FileSignerStateStore } from '@synod/storage';
import type { LastSignState } from '@synod/types';

/**
 * The state of a signer that has signed nothing yet: height 0 (below every
 * block), with a signature of the empty message by the key. No consensus
 * message has empty sign bytes (they start with "synod/v1/"), so the file
 * permits every real signature, and its signature binds it to this key: the
 * node refuses to start with another key's state file (SIGNER_KEY_MISMATCH).
 */
export function initialSignerState(seed: Uint8Array): LastSignState {
  const signBytes = new Uint8Array(0);
  return { height: 0, round: 0, step: 'proposal', signBytes, signature: sign(seed, signBytes) };
}

/** Writes the initial signer state file (atomic, mode 0600). */
export function writeInitialSignerState(path: string, seed: Uint8Array): Promise<void> {
  return new FileSignerStateStore(path).save(initialSignerState(seed));
}
