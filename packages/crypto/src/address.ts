/** Addresses: the first 20 bytes of SHA-256(publicKey), as in CometBFT. */

import { isBytes } from './bytes.js';
import { PUBLIC_KEY_LENGTH } from './ed25519.js';
import { sha256 } from './hash.js';

/** Length of an address in bytes. */
export const ADDRESS_LENGTH = 20;

/** The 20-byte address of a 32-byte Ed25519 public key: SHA-256(publicKey)[0..20). */
export function addressFromPublicKey(publicKey: Uint8Array): Uint8Array {
  if (!isBytes(publicKey) || publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new TypeError(`addressFromPublicKey: public key must be a ${PUBLIC_KEY_LENGTH}-byte Uint8Array`);
  }
  return sha256(publicKey).slice(0, ADDRESS_LENGTH);
}
