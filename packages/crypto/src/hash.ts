/** SHA-256 through node:crypto (OpenSSL). */

import { createHash, hash } from 'node:crypto';
import { fromBuffer, isBytes } from './bytes.js';

/** Length of a SHA-256 digest in bytes. */
export const SHA256_LENGTH = 32;

/** SHA-256 of `data`. Throws a TypeError when `data` is not a Uint8Array (strings are refused on purpose). */
export function sha256(data: Uint8Array): Uint8Array {
  if (!isBytes(data)) throw new TypeError('sha256: expected a Uint8Array');
  return fromBuffer(hash('sha256', data, 'buffer'));
}

/** SHA-256 of the concatenation of `parts`, without building the concatenation. */
export function sha256Concat(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) {
    if (!isBytes(part)) throw new TypeError('sha256Concat: expected Uint8Array parts');
    h.update(part);
  }
  return fromBuffer(h.digest());
}
