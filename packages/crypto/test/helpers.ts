import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

export const Point = ed25519.Point;
/** The prime order L of the Ed25519 base point. */
export const L = ed25519.Point.Fn.ORDER;

/** A copy of `bytes` with bit `bit` (0 = least significant bit of byte 0) flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const i = Math.floor(bit / 8);
  out[i] = (out[i] ?? 0) ^ (1 << (bit % 8));
  return out;
}

export function bytesToBigLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

export function bigToBytesLE(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError('number does not fit');
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** k = SHA-512(R || A || M) mod L, over the bytes as given (as ZIP-215 and RFC 8032 hash them). */
export function challenge(rBytes: Uint8Array, aBytes: Uint8Array, message: Uint8Array): bigint {
  const h = createHash('sha512').update(rBytes).update(aBytes).update(message).digest();
  return bytesToBigLE(h) % L;
}

/** The clamped secret scalar a of a seed (A = aB). */
export function secretScalar(seed: Uint8Array): bigint {
  return ed25519.utils.getExtendedPublicKey(seed).scalar;
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
