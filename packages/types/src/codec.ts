import type { Type } from '@chainsafe/ssz';
import { DecodeError, SynodError } from './errors.js';

/**
 * Decode `bytes` with an SSZ type, turning every failure into a DecodeError.
 * `maxBytes` is checked before parsing (cheap rejection of oversized input).
 */
export function sszDecode<T>(type: Type<T>, bytes: Uint8Array, what: string, maxBytes?: number): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError('DECODE_INVALID_BYTES', `${what}: expected bytes`);
  }
  const limit = maxBytes ?? type.maxSize;
  if (bytes.length > limit) {
    throw new DecodeError(
      'DECODE_TOO_LARGE',
      `${what}: ${bytes.length} bytes exceeds the limit of ${limit}`,
      {
        details: { size: bytes.length, limit },
      },
    );
  }
  if (bytes.length < type.minSize) {
    throw new DecodeError('DECODE_INVALID_BYTES', `${what}: ${bytes.length} bytes is too short`);
  }
  try {
    return type.deserialize(bytes);
  } catch (cause) {
    throw new DecodeError('DECODE_INVALID_BYTES', `${what}: malformed encoding`, { cause });
  }
}

/** Encode with an SSZ type; a value SSZ cannot represent becomes ENCODE_INVALID_VALUE. */
export function sszEncode<T>(type: Type<T>, value: T, what: string): Uint8Array {
  try {
    return type.serialize(value);
  } catch (cause) {
    throw new SynodError('ENCODE_INVALID_VALUE', `${what}: cannot encode`, { cause });
  }
}

/** Fails decoding with DECODE_INVALID_VALUE: the bytes parse but break a domain rule. */
export function invalid(what: string, reason: string): never {
  throw new DecodeError('DECODE_INVALID_VALUE', `${what}: ${reason}`);
}

export function isUint(n: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

export function checkUint(n: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!isUint(n, max)) {
    throw new SynodError('ENCODE_INVALID_VALUE', `${what}: ${n} is not an integer in [0, ${max}]`);
  }
}

export function checkDecodedUint(n: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!isUint(n, max)) invalid(what, `${n} is out of range [0, ${max}]`);
}

export function checkLength(b: Uint8Array, len: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    throw new SynodError('ENCODE_INVALID_VALUE', `${what}: expected ${len} bytes`);
  }
}

const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true });
const UTF8_ENCODER = new TextEncoder();

export function utf8Encode(s: string): Uint8Array {
  return UTF8_ENCODER.encode(s);
}

export function utf8Decode(b: Uint8Array, what: string): string {
  try {
    return UTF8_DECODER.decode(b);
  } catch {
    return invalid(what, 'not valid UTF-8');
  }
}

export const ZERO_HASH: Uint8Array = new Uint8Array(32);

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
