/**
 * Small byte helpers: fixed-layout binary records (big-endian), and the
 * latin1-string form of keys used by the in-memory state (one char per byte,
 * so string order is byte order).
 */

import { concatBytes } from '@synod/crypto';

export { compareBytes, concatBytes as concat } from '@synod/crypto';

const U64_MAX = (1n << 64n) - 1n;

/** Largest value a u64 field holds. */
export const MAX_U64 = U64_MAX;

const TWO_32 = 2 ** 32;

/** Big-endian u64 of a non-negative integer (number or bigint) below 2^64. */
export function u64(n: number | bigint): Uint8Array {
  let hi: number;
  let lo: number;
  if (typeof n === 'number') {
    // Integral doubles divide by 2^32 exactly: no BigInt on the hot path (nonces, heights, counts).
    if (!Number.isInteger(n) || n < 0 || n >= TWO_32 * TWO_32) throw new RangeError(`u64 out of range: ${n}`);
    hi = Math.floor(n / TWO_32);
    lo = n - hi * TWO_32;
  } else {
    if (n < 0n || n > U64_MAX) throw new RangeError(`u64 out of range: ${n}`);
    hi = Number(n >> 32n);
    lo = Number(n & 0xffff_ffffn);
  }
  const out = new Uint8Array(8);
  out[0] = hi >>> 24;
  out[1] = (hi >>> 16) & 0xff;
  out[2] = (hi >>> 8) & 0xff;
  out[3] = hi & 0xff;
  out[4] = lo >>> 24;
  out[5] = (lo >>> 16) & 0xff;
  out[6] = (lo >>> 8) & 0xff;
  out[7] = lo & 0xff;
  return out;
}

/** Reads the big-endian u64 at `offset` as a number (throws when above 2^53 - 1). */
export function readU64Number(b: Uint8Array, offset: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('u64 above 2^53 - 1');
  return Number(v);
}

/**
 * Equality that returns at the first difference: for state keys and hashes,
 * which are public. (@synod/crypto's `bytesEqual` is the constant-time one,
 * for secrets; it costs a native call per comparison.)
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The latin1 string of `b` (a Map key that sorts like the bytes). */
export function keyString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Inverse of keyString. */
export function keyBytes(s: string): Uint8Array {
  const buf = Buffer.from(s, 'latin1');
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

/** Sequential writer of a fixed-layout record. */
export class Writer {
  private readonly parts: Uint8Array[] = [];

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }

  u8(n: number): this {
    this.parts.push(Uint8Array.of(n));
    return this;
  }

  u64(n: number | bigint): this {
    this.parts.push(u64(n));
    return this;
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Sequential reader of a fixed-layout record; throws RangeError on short or trailing bytes. */
export class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private need(n: number): void {
    if (this.offset + n > this.b.length) throw new RangeError('record too short');
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(): number {
    this.need(1);
    return this.b[this.offset++] as number;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }

  u64Number(): number {
    this.need(8);
    const hi = this.view.getUint32(this.offset);
    const lo = this.view.getUint32(this.offset + 4);
    if (hi > 0x1f_ffff) throw new RangeError('u64 above 2^53 - 1');
    this.offset += 8;
    return hi * TWO_32 + lo;
  }

  end(): void {
    if (this.offset !== this.b.length) throw new RangeError('trailing bytes in record');
  }
}
