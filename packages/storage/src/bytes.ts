/** Small byte helpers of the stores (the general ones live in @synod/crypto). */
import { fromHex as strictFromHex } from '@synod/crypto';

export { compareBytes, concatBytes, toHex } from '@synod/crypto';

/** A plain Uint8Array view of `b` (no copy); turns a Node Buffer into a Uint8Array. */
export function asView(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A fresh copy of `b`. */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

export function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or
 * `undefined` when there is none (the prefix is all 0xff).
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = new Uint8Array(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** Parses lowercase or uppercase hex; returns undefined for anything else. */
export function fromHex(s: string): Uint8Array | undefined {
  try {
    return strictFromHex(s);
  } catch {
    return undefined;
  }
}
