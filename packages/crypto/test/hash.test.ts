import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressFromPublicKey } from '../src/address.js';
import { bytesEqual, fromHex, isBytes, toHex } from '../src/bytes.js';
import { keyPairFromSeed } from '../src/ed25519.js';
import { sha256, sha256Concat } from '../src/hash.js';
import { LruCache } from '../src/lru.js';
import { concat, utf8 } from './helpers.js';

describe('sha256', () => {
  it('matches the FIPS 180-2 / well-known digests', () => {
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toHex(sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(toHex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('returns a plain 32-byte Uint8Array that owns its buffer', () => {
    const d = sha256(utf8('x'));
    expect(d.constructor).toBe(Uint8Array);
    expect(d).toHaveLength(32);
    expect(d.buffer.byteLength).toBe(32);
  });

  it('hashes only the viewed bytes of a subarray', () => {
    const big = utf8('--abc--');
    expect(sha256(big.subarray(2, 5))).toEqual(sha256(utf8('abc')));
  });

  it('refuses strings and other non-Uint8Array input', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sha256([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sha256Concat(utf8('a'), 'b' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('property: sha256Concat(...parts) == sha256(concat(parts)) == node createHash', () => {
    fc.assert(
      // up to 2,400 bytes: both the one-shot path (<= 1,024 bytes) and the streamed one
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 6 }), (parts) => {
        const joined = concat(...parts);
        const expected = createHash('sha256').update(joined).digest();
        expect(sha256Concat(...parts)).toEqual(new Uint8Array(expected));
        expect(sha256(joined)).toEqual(new Uint8Array(expected));
      }),
    );
  });
});

describe('sha256Concat around its one-shot size', () => {
  it('hashes 1,023 / 1,024 / 1,025 bytes as one buffer, and each digest is its own (no shared scratch)', () => {
    const digests: Uint8Array[] = [];
    for (const n of [1_023, 1_024, 1_025]) {
      const a = new Uint8Array(n - 1).fill(n & 0xff);
      const b = Uint8Array.of(0x5a);
      const d = sha256Concat(a, b);
      expect(d).toEqual(new Uint8Array(createHash('sha256').update(concat(a, b)).digest()));
      digests.push(d);
    }
    expect(new Set(digests.map((d) => Buffer.from(d).toString('hex'))).size).toBe(3);
    const first = digests[0]?.slice();
    sha256Concat(new Uint8Array(64).fill(1));
    expect(digests[0]).toEqual(first);
  });
});

describe('addressFromPublicKey', () => {
  it('is the first 20 bytes of SHA-256(publicKey)', () => {
    const pub = keyPairFromSeed(new Uint8Array(32).fill(7)).publicKey;
    const addr = addressFromPublicKey(pub);
    expect(addr).toHaveLength(20);
    expect(addr.buffer.byteLength).toBe(20);
    expect(toHex(addr)).toBe(createHash('sha256').update(pub).digest('hex').slice(0, 40));
  });

  it('known value: RFC 8032 TEST 1 public key', () => {
    const pub = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(toHex(addressFromPublicKey(pub))).toBe(
      createHash('sha256').update(pub).digest('hex').slice(0, 40),
    );
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => addressFromPublicKey(new Uint8Array(31))).toThrow(TypeError);
    expect(() => addressFromPublicKey(new Uint8Array(33))).toThrow(TypeError);
    expect(() => addressFromPublicKey('ab' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('hex and bytes helpers', () => {
  it('toHex is lowercase; fromHex accepts either case', () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0xff))).toBe('00abff');
    expect(fromHex('00ABff')).toEqual(Uint8Array.of(0, 0xab, 0xff));
    expect(fromHex('')).toEqual(new Uint8Array(0));
    expect(fromHex('00').constructor).toBe(Uint8Array);
  });

  it('fromHex rejects odd length, non-hex characters, prefixes, whitespace and non-strings', () => {
    for (const bad of ['0', 'abc', 'zz', '0x00', ' 00', '00 ', '0g', 'é0', '+1']) {
      expect(() => fromHex(bad), bad).toThrow(TypeError);
    }
    expect(() => fromHex(12 as unknown as string)).toThrow(TypeError);
    expect(() => toHex('00' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('property: fromHex(toHex(b)) == b', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
        expect(fromHex(toHex(b).toUpperCase())).toEqual(b);
      }),
    );
  });

  it('bytesEqual compares contents; different lengths and non-bytes are unequal', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1), [1] as unknown as Uint8Array)).toBe(false);
  });

  it('isBytes accepts Uint8Array and Buffer only', () => {
    expect(isBytes(new Uint8Array(1))).toBe(true);
    expect(isBytes(Buffer.alloc(1))).toBe(true);
    expect(isBytes(new Uint16Array(1))).toBe(false);
    expect(isBytes(new ArrayBuffer(1))).toBe(false);
    expect(isBytes([1])).toBe(false);
    expect(isBytes(null)).toBe(false);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry past capacity; get refreshes', () => {
    const c = new LruCache<string, number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // a is now most recent
    c.set('d', 4); // evicts b
    expect(c.keys()).toEqual(['c', 'a', 'd']);
    expect(c.get('b')).toBeUndefined();
    c.set('c', 30); // update refreshes too
    c.set('e', 5); // evicts a
    expect(c.keys()).toEqual(['d', 'c', 'e']);
    expect(c.get('c')).toBe(30);
    expect(c.size).toBe(3);
    c.clear();
    expect(c.size).toBe(0);
  });

  it('stores null values (used for keys OpenSSL cannot import) distinctly from misses', () => {
    const c = new LruCache<string, number | null>(2);
    c.set('x', null);
    expect(c.get('x')).toBeNull();
    expect(c.get('y')).toBeUndefined();
  });

  it('property: never holds more than its capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 20 })), (cap, keys) => {
        const c = new LruCache<number, number>(cap);
        for (const k of keys) c.set(k, k);
        expect(c.size).toBeLessThanOrEqual(cap);
        const last = [...new Set(keys.reverse())].slice(0, cap).reverse();
        expect(c.keys()).toEqual(last);
      }),
    );
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
    expect(() => new LruCache(1.5)).toThrow(RangeError);
  });
});
