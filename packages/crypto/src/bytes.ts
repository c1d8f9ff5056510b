/** Byte helpers shared by every package: type guard, hex, concatenation, ordering, constant-time comparison. */

import { timingSafeEqual } from 'node:crypto';

/**
 * True for a `Uint8Array` (including a `Buffer`, and a `Uint8Array` from
 * another realm). False for every other value, including other typed arrays.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && value.constructor !== undefined && value.constructor.name === 'Uint8Array')
  );
}

/** A zero-copy `Buffer` view of `bytes` (for node:crypto / string encoders). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A plain `Uint8Array` holding the bytes of a `Buffer` that node:crypto just
 * returned: a zero-copy view when the Buffer owns its whole ArrayBuffer, a copy
 * when it is a slice of Node's shared pool (so no unrelated bytes are exposed
 * through `.buffer`).
 */
export function fromBuffer(buf: Buffer): Uint8Array {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) {
    return new Uint8Array(buf.buffer, 0, buf.byteLength);
  }
  return new Uint8Array(buf);
}

/** Lowercase hex of `bytes`. Throws a TypeError when `bytes` is not a Uint8Array. */
export function toHex(bytes: Uint8Array): string {
  if (!isBytes(bytes)) throw new TypeError('toHex: expected a Uint8Array');
  return asBuffer(bytes).toString('hex');
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/**
 * Decodes hex (upper or lower case, no `0x` prefix, even length). Throws a
 * TypeError on anything else: unlike `Buffer.from(s, 'hex')` it never silently
 * truncates at the first bad character.
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError('fromHex: expected a string');
  if (hex.length % 2 !== 0) throw new TypeError(`fromHex: odd length ${hex.length}`);
  if (!HEX_RE.test(hex)) throw new TypeError('fromHex: invalid hex character');
  const out = new Uint8Array(hex.length / 2);
  out.set(Buffer.from(hex, 'hex'));
  return out;
}

/** The bytes of `parts`, one after another, in a fresh array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Bytewise (lexicographic) order, LevelDB's default: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Constant-time equality for byte strings of equal length (the time depends
 * only on the length). Different lengths, or non-Uint8Array input, give false.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (!isBytes(a) || !isBytes(b) || a.byteLength !== b.byteLength) return false;
  return timingSafeEqual(a, b);
}
