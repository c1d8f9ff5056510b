/**
 * Ed25519 with exactly one verification rule: ZIP-215.
 *
 * ZIP-215 (the rule of CometBFT and Zcash) is the cofactored verification
 * equation [8][S]B = [8]R + [8][k]A, with k = SHA-512(R_bytes || A_bytes || M)
 * over the bytes as received, S < L, and A and R decoded leniently (any
 * y < 2^255 that lies on the curve, including non-canonical encodings and
 * small-order points). It is fully specified, so every correct implementation
 * agrees on every input; that is what consensus needs.
 *
 * Fast path. OpenSSL (node:crypto) checks the stricter cofactorless equation
 * [S]B = R + [k]A with a canonical R and S < L, over the same received bytes.
 * Whatever it accepts, ZIP-215 accepts too (multiply the equation by 8; every
 * encoding it decodes, ZIP-215 decodes to the same point). So `verify` trusts
 * OpenSSL's "yes" (~10x faster than noble). To depend on as little of
 * OpenSSL's behaviour as possible, the fast path is only taken when S < L and
 * A is canonically encoded (checked here, in a few nanoseconds); S >= L is
 * rejected at once (ZIP-215 rejects it too), a non-canonical A goes straight
 * to noble.
 *
 * OpenSSL's "no" is final unless ZIP-215 could still say yes, which needs one
 * of: a non-canonical R encoding, or a torsion component in A or in R (see
 * `zip215MayAccept` for the proof). Only then does noble's ZIP-215 verifier
 * run, so a forged signature over canonical, torsion-free points (what a
 * forger gets by altering an honest signature) costs OpenSSL's verify plus one
 * X25519 torsion test, not noble's ~10x slower check. The answer is exactly
 * ZIP-215's, whatever the Node/OpenSSL version.
 */

import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { asBuffer, fromBuffer, isBytes } from './bytes.js';
import { LruCache } from './lru.js';

/** Length of an Ed25519 public key (an encoded point A). */
export const PUBLIC_KEY_LENGTH = 32;
/** Length of an Ed25519 private key seed (RFC 8032's 32-byte private key). */
export const SEED_LENGTH = 32;
/** Length of an Ed25519 signature R || S. */
export const SIGNATURE_LENGTH = 64;
/** How many public-key KeyObjects `verify` keeps (least recently used are evicted). */
export const KEY_OBJECT_CACHE_CAPACITY = 4096;

/** DER prefix of a SubjectPublicKeyInfo holding a raw 32-byte Ed25519 key (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER prefix of a PKCS#8 PrivateKeyInfo holding a raw 32-byte Ed25519 seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * An Ed25519 key pair. `seed` is the 32-byte RFC 8032 private key; `secretKey`
 * is the very same Uint8Array under the name @noble/curves and RFC 8032 test
 * vectors use (it is NOT the 64-byte seed || publicKey of NaCl).
 */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly seed: Uint8Array;
  /** Alias of `seed` (same object). */
  readonly secretKey: Uint8Array;
}

// ---------------------------------------------------------------------------
// Keys and signing

interface PrivateKeyEntry {
  /** Copy of the seed bytes the KeyObject was built from (detects mutation). */
  readonly snapshot: Uint8Array;
  readonly key: KeyObject;
}

/**
 * Private KeyObjects, keyed by the identity of the seed Uint8Array. Building
 * one costs ~0.4 ms (OpenSSL derives the public key), signing with it ~0.04 ms.
 * The entry lives as long as the caller's seed array does.
 */
const privateKeys = new WeakMap<Uint8Array, PrivateKeyEntry>();

function privateKeyObject(seed: Uint8Array): KeyObject {
  const cached = privateKeys.get(seed);
  if (cached !== undefined && timingSafeEqual(cached.snapshot, seed)) return cached.key;
  const snapshot = new Uint8Array(seed);
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, snapshot]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  privateKeys.set(seed, { snapshot, key });
  return key;
}

function checkSeed(seed: unknown, fn: string): asserts seed is Uint8Array {
  if (!isBytes(seed)) throw new TypeError(`${fn}: seed must be a Uint8Array`);
  if (seed.length !== SEED_LENGTH) {
    throw new RangeError(`${fn}: seed must be ${SEED_LENGTH} bytes, got ${seed.length}`);
  }
}

/** The key pair of a 32-byte seed (deterministic; the seed is copied). */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  checkSeed(seed, 'keyPairFromSeed');
  const own = new Uint8Array(seed);
  const spki = createPublicKey(privateKeyObject(own)).export({ format: 'der', type: 'spki' });
  if (spki.length !== ED25519_SPKI_PREFIX.length + PUBLIC_KEY_LENGTH) {
    throw new Error('keyPairFromSeed: unexpected SPKI encoding from node:crypto');
  }
  const publicKey = new Uint8Array(spki.subarray(ED25519_SPKI_PREFIX.length));
  return Object.freeze({ publicKey, seed: own, secretKey: own });
}

/** A fresh key pair from a cryptographically secure random seed. */
export function generateKeyPair(): KeyPair {
  const seed = randomBytes(SEED_LENGTH);
  try {
    return keyPairFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** The 32-byte public key of a 32-byte seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return keyPairFromSeed(seed).publicKey;
}

/**
 * Signs `message` (RFC 8032 Ed25519, deterministic) with a 32-byte seed or a
 * key pair. Signing goes through node:crypto; the result is byte-for-byte what
 * RFC 8032 and @noble/curves produce (tested). Throws a TypeError/RangeError on
 * a malformed key or a non-Uint8Array message.
 */
export function sign(key: Uint8Array | KeyPair, message: Uint8Array): Uint8Array {
  const seed: unknown = isBytes(key) ? key : typeof key === 'object' && key !== null ? key.seed : undefined;
  checkSeed(seed, 'sign');
  if (!isBytes(message)) throw new TypeError('sign: message must be a Uint8Array');
  return fromBuffer(nodeSign(null, message, privateKeyObject(seed)));
}

// ---------------------------------------------------------------------------
// Verification

/** Counters of the verification paths taken since the last reset. */
export interface VerifyStats {
  /** `verify` calls accepted by OpenSSL (the fast path). */
  readonly fastAccepted: number;
  /**
   * `verify` calls rejected without noble: S >= L, or OpenSSL said no where
   * ZIP-215 cannot say yes (canonical R, torsion-free A and R).
   */
  readonly fastRejected: number;
  /**
   * `verify` calls decided by noble's ZIP-215 check: OpenSSL said no where
   * ZIP-215 might say yes (non-canonical R, a torsion component in A or R),
   * OpenSSL could not import the key, or the public key encoding is
   * non-canonical.
   */
  readonly fallbackCalls: number;
  /** Of those, how many ZIP-215 accepted. */
  readonly fallbackAccepted: number;
  /** `verify` calls rejected before any curve arithmetic (wrong type or length). */
  readonly malformed: number;
  readonly keyCacheHits: number;
  readonly keyCacheMisses: number;
  /** Public keys OpenSSL refused to import (verified by noble alone). */
  readonly keyImportFailures: number;
  readonly keyCacheSize: number;
  readonly keyCacheCapacity: number;
}

const stats = {
  fastAccepted: 0,
  fastRejected: 0,
  fallbackCalls: 0,
  fallbackAccepted: 0,
  malformed: 0,
  keyCacheHits: 0,
  keyCacheMisses: 0,
  keyImportFailures: 0,
};

/** A cached public key: its KeyObject (null: OpenSSL cannot import it) and, once needed, its torsion test. */
interface PublicKeyEntry {
  readonly key: KeyObject | null;
  /** Whether A lies in the prime-order subgroup; computed on the first OpenSSL "no" for this key. */
  torsionFree?: boolean;
}

/** Public keys by their bytes (latin1 string). */
const publicKeys = new LruCache<string, PublicKeyEntry>(KEY_OBJECT_CACHE_CAPACITY);

function publicKeyEntry(publicKey: Uint8Array): PublicKeyEntry {
  const id = asBuffer(publicKey).toString('latin1');
  const cached = publicKeys.get(id);
  if (cached !== undefined) {
    stats.keyCacheHits++;
    return cached;
  }
  stats.keyCacheMisses++;
  let key: KeyObject | null;
  try {
    key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
  } catch {
    stats.keyImportFailures++;
    key = null;
  }
  const entry: PublicKeyEntry = { key };
  publicKeys.set(id, entry);
  return entry;
}

/** L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/** True when the S half of a 64-byte signature is canonical (S < L). */
export function isCanonicalScalar(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/**
 * True when a 32-byte point encoding is canonical as far as the fast path
 * cares: y < p = 2^255 - 19, and not x = 0 with the sign bit set (y = 1 or
 * y = p - 1 with bit 255 set). It does not check that the point is on the curve.
 */
export function isCanonicalEncoding(point: Uint8Array): boolean {
  const top = point[31]!;
  let middleAllOnes = true; // bytes 1..30 all 0xff
  let middleAllZero = true; // bytes 1..30 all 0x00
  for (let i = 1; i < 31; i++) {
    const b = point[i]!;
    if (b !== 0xff) middleAllOnes = false;
    if (b !== 0x00) middleAllZero = false;
  }
  const first = point[0]!;
  // y >= p: y = p + d (0 <= d < 19) has bytes [0xed + d, 0xff × 30, 0x7f] (sign bit ignored)
  if (middleAllOnes && (top & 0x7f) === 0x7f && first >= 0xed) return false;
  // x = 0 with the sign bit set: y = 1 -> [0x01, 0 × 30, 0x80]; y = p - 1 -> [0xec, 0xff × 30, 0xff]
  if (top === 0x80 && middleAllZero && first === 0x01) return false;
  if (top === 0xff && middleAllOnes && first === 0xec) return false;
  return true;
}

function wellFormed(publicKey: unknown, message: unknown, signature: unknown): boolean {
  return (
    isBytes(publicKey) &&
    publicKey.length === PUBLIC_KEY_LENGTH &&
    isBytes(signature) &&
    signature.length === SIGNATURE_LENGTH &&
    isBytes(message)
  );
}

/**
 * OpenSSL alone (cofactorless, strict R): a subset of ZIP-215. NOT a consensus
 * rule; exported from this module (not from the package) for tests and benches.
 */
export function verifyOpenSsl(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!wellFormed(publicKey, message, signature)) return false;
    const key = publicKeyEntry(publicKey).key;
    return key !== null && nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * ZIP-215 verification by @noble/curves alone (`{ zip215: true }`, also its
 * default for ed25519 in v2). The reference for `verify`; ~10x slower.
 * Returns false, never throws, on malformed input of any kind.
 */
export function verifyZip215(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!wellFormed(publicKey, message, signature)) return false;
    return ed25519.verify(signature, message, publicKey, { zip215: true });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// When can OpenSSL's "no" be ZIP-215's "yes"?

const Fp = ed25519.Point.Fp;
const Fn = ed25519.Point.Fn;

/**
 * The X25519 scalar c with c ≡ 0 (mod 8), c ≡ −1 (mod L) and 2^254 <= c < 2^255,
 * so RFC 7748 clamping leaves it unchanged. For a curve point P = Q + T (Q in
 * the prime-order subgroup, T of order dividing 8), [c]P = −Q, and
 * u([c]P) = u(Q): X25519(c, u(P)) = u(P) exactly when P = Q.
 */
const TORSION_TEST_SCALAR = 8n * Fn.mul(Fn.neg(1n), Fn.inv(8n));
if (TORSION_TEST_SCALAR < 2n ** 254n || TORSION_TEST_SCALAR >= 2n ** 255n) {
  throw new Error('ed25519: torsion test scalar out of the clamped range');
}
/** DER prefix of a PKCS#8 PrivateKeyInfo holding a raw X25519 scalar (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** DER prefix of a SubjectPublicKeyInfo holding a raw X25519 u-coordinate (RFC 8410). */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
let torsionTestKey: KeyObject | undefined;

/**
 * True when the point with this canonical encoding lies in the prime-order
 * subgroup; false when it has a torsion component, is not on the curve, or the
 * test cannot tell (callers then run the full ZIP-215 check). One field
 * inversion and one X25519 scalar multiplication (OpenSSL) on the Montgomery
 * form u = (1 + y) / (1 − y).
 */
export function isTorsionFreeEncoding(point: Uint8Array): boolean {
  const y = bytesToNumberLE(point) & ((1n << 255n) - 1n);
  if (y === 1n) return true; // the identity
  if (y >= Fp.ORDER) return false; // not canonical: not this test's business
  const u = numberToBytesLE(Fp.div(Fp.add(1n, y), Fp.sub(1n, y)), 32);
  try {
    torsionTestKey ??= createPrivateKey({
      key: Buffer.concat([X25519_PKCS8_PREFIX, numberToBytesLE(TORSION_TEST_SCALAR, 32)]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = createPublicKey({
      key: Buffer.concat([X25519_SPKI_PREFIX, u]),
      format: 'der',
      type: 'spki',
    });
    // throws when the result is the point at infinity (a small-order point)
    return asBuffer(u).equals(diffieHellman({ privateKey: torsionTestKey, publicKey }));
  } catch {
    return false;
  }
}

/**
 * Whether ZIP-215 could accept a signature that OpenSSL rejected, given
 * S < L and a canonical A (which OpenSSL decodes exactly as ZIP-215 does).
 *
 * Let R' = [S]B − [k]A (k over the received bytes, the same for both) and P
 * the point R decodes to. ZIP-215 accepts iff [8]P = [8]R'. If A is
 * torsion-free, so is R' (B has prime order); if P is torsion-free too, then
 * P − R' is a torsion-free point of order dividing 8, i.e. P = R'; if R is
 * also canonically encoded, R is the encoding of R', which is exactly what
 * OpenSSL checks, so OpenSSL would have said yes. Hence OpenSSL's "no" is
 * ZIP-215's "no" unless R is non-canonical, or A or P has a torsion
 * component; those are the only inputs sent to the fallback. An honest signer
 * never produces them (R = [r]B, A = [a]B), and a forger who alters an honest
 * signature keeps R and A as they were.
 */
function zip215MayAccept(entry: PublicKeyEntry, publicKey: Uint8Array, signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  if (!isCanonicalEncoding(r)) return true;
  entry.torsionFree ??= isTorsionFreeEncoding(publicKey);
  if (!entry.torsionFree) return true;
  return !isTorsionFreeEncoding(r);
}

/**
 * Verifies an Ed25519 signature under ZIP-215, the only rule Synod uses.
 * OpenSSL first (cached KeyObject per public key); on its "no", noble's
 * ZIP-215 check decides only where it could disagree (`zip215MayAccept`).
 * Returns false, never throws, for wrong lengths or malformed input of any
 * kind (including values that are not Uint8Arrays).
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const route = verifyRoute(publicKey, message, signature);
    if (route === false) return false;
    const entry = route === 'openssl' ? publicKeyEntry(publicKey) : null;
    if (entry !== null && entry.key !== null) {
      let ok = false;
      try {
        ok = nodeVerify(null, message, entry.key, signature);
      } catch {
        ok = false;
      }
      if (ok) {
        stats.fastAccepted++;
        return true;
      }
      return afterOpenSslNo(entry, publicKey, message, signature);
    }
    return fallback(publicKey, message, signature);
  } catch {
    return false;
  }
}

function afterOpenSslNo(
  entry: PublicKeyEntry,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!zip215MayAccept(entry, publicKey, signature)) {
    stats.fastRejected++;
    return false;
  }
  return fallback(publicKey, message, signature);
}

function fallback(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  stats.fallbackCalls++;
  const ok = ed25519.verify(signature, message, publicKey, { zip215: true });
  if (ok) stats.fallbackAccepted++;
  return ok;
}

/**
 * Which path `verify` takes for this input before any curve arithmetic:
 * `false` (malformed, or S >= L: rejected), `'openssl'` (OpenSSL's answer
 * first: a canonical A), `'fallback'` (noble alone). `verify` starts with
 * it, and so does the verify pool, whose workers run the OpenSSL step; not
 * exported from the package.
 */
export function verifyRoute(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): false | 'openssl' | 'fallback' {
  if (!wellFormed(publicKey, message, signature)) {
    stats.malformed++;
    return false;
  }
  // ZIP-215 requires S < L
  if (!isCanonicalScalar(signature)) {
    stats.fastRejected++;
    return false;
  }
  return isCanonicalEncoding(publicKey) ? 'openssl' : 'fallback';
}

/**
 * `verify`'s answer for an input `verifyRoute` sent to OpenSSL, given
 * OpenSSL's answer computed elsewhere (a verify pool worker; `undefined`:
 * the worker could not import the key). Its "yes" is final; its "no" goes
 * through the same ZIP-215 decision as in `verify`. Not exported from the
 * package.
 */
export function verifyAfterOpenSsl(
  openSslAccepted: boolean | undefined,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    if (openSslAccepted === true) {
      stats.fastAccepted++;
      return true;
    }
    const entry = publicKeyEntry(publicKey);
    if (openSslAccepted === undefined || entry.key === null) return fallback(publicKey, message, signature);
    return afterOpenSslNo(entry, publicKey, message, signature);
  } catch {
    return false;
  }
}

/** DER prefix of a SubjectPublicKeyInfo holding a raw 32-byte Ed25519 key, for the verify pool's workers. */
export const ED25519_SPKI_PREFIX_HEX = ED25519_SPKI_PREFIX.toString('hex');

/** A snapshot of the verification counters. */
export function verifyStats(): VerifyStats {
  return {
    ...stats,
    keyCacheSize: publicKeys.size,
    keyCacheCapacity: publicKeys.capacity,
  };
}

/** Zeroes the verification counters. */
export function resetVerifyStats(): void {
  stats.fastAccepted = 0;
  stats.fastRejected = 0;
  stats.fallbackCalls = 0;
  stats.fallbackAccepted = 0;
  stats.malformed = 0;
  stats.keyCacheHits = 0;
  stats.keyCacheMisses = 0;
  stats.keyImportFailures = 0;
}

/** Drops every cached public KeyObject (for benches of the cold path). */
export function clearKeyObjectCache(): void {
  publicKeys.clear();
}
