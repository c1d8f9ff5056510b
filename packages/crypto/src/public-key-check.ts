/**
 * Which Ed25519 public keys may be a validator's.
 *
 * Signatures are verified under ZIP-215 (see ed25519.ts), which accepts
 * small-order and non-canonically encoded public keys. For such a key A the
 * verification equation [8][S]B = [8]R + [8][k]A loses (part of) A: for a
 * small-order A, [8]A is the identity and anyone can "sign" any message as
 * that validator (R = [S]B). So a key is refused where it enters the
 * validator set (bonding, genesis) unless it is the canonical encoding of a
 * point of the prime-order subgroup other than the identity. Every honest key
 * ([a]B from a seed) passes. Cost: noble's strict decoding (one square root)
 * and one X25519 scalar multiplication, ~0.1 ms.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { isBytes } from './bytes.js';
import { isCanonicalEncoding, isTorsionFreeEncoding, PUBLIC_KEY_LENGTH } from './ed25519.js';
import { LruCache } from './lru.js';

/**
 * Keys that passed, remembered (the verdict depends on the 32 bytes alone):
 * every node of a simulation parses the same genesis, so a 100-validator run
 * checked each of its 100 keys 100 times (5 of its 78 CPU-seconds).
 */
const accepted = new LruCache<string, true>(1_024);

/** Why `publicKey` cannot be a validator's key, or undefined when it can. */
export function publicKeyProblem(publicKey: Uint8Array): string | undefined {
  if (!isBytes(publicKey) || publicKey.length !== PUBLIC_KEY_LENGTH)
    return `a public key is ${PUBLIC_KEY_LENGTH} bytes`;
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  if (accepted.get(id) === true) return undefined;
  const problem = checkPublicKey(publicKey);
  if (problem === undefined) accepted.set(id, true);
  return problem;
}

function checkPublicKey(publicKey: Uint8Array): string | undefined {
  if (!isCanonicalEncoding(publicKey)) return 'public key is not canonically encoded';
  let point: InstanceType<typeof ed25519.Point>;
  try {
    point = ed25519.Point.fromBytes(publicKey, false); // strict RFC 8032 decoding
  } catch {
    return 'public key is not a point of the curve (or not canonically encoded)';
  }
  if (point.isSmallOrder()) return 'public key is a small-order point';
  // OpenSSL's X25519 torsion test (~20x faster than noble's isTorsionFree).
  if (!isTorsionFreeEncoding(publicKey)) return 'public key has a small-order (torsion) component';
  return undefined;
}

/**
 * True when `publicKey` is the canonical encoding of a point of the
 * prime-order subgroup other than the identity: the only keys whose
 * signatures no one else can forge under ZIP-215.
 */
export function isCanonicalTorsionFreePublicKey(publicKey: Uint8Array): boolean {
  return publicKeyProblem(publicKey) === undefined;
}
