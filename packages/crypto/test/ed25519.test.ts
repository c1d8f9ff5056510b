import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clearKeyObjectCache,
  generateKeyPair,
  isCanonicalEncoding,
  isCanonicalScalar,
  isTorsionFreeEncoding,
  KEY_OBJECT_CACHE_CAPACITY,
  keyPairFromSeed,
  publicKeyFromSeed,
  resetVerifyStats,
  sign,
  verify,
  verifyOpenSsl,
  verifyStats,
  verifyZip215,
} from '../src/ed25519.js';
import {
  bigToBytesLE,
  bytesToBigLE,
  challenge,
  concat,
  flipBit,
  hex,
  L,
  Point,
  secretScalar,
  utf8,
} from './helpers.js';

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const msgArb = fc.uint8Array({ maxLength: 300 });

const SEED = new Uint8Array(32).fill(7);
const KEY = keyPairFromSeed(SEED);
const MSG = utf8('synod');
const SIG = sign(KEY, MSG);

/** Both verifiers, so every edge case checks the fast path and the reference together. */
function both(publicKey: unknown, message: unknown, signature: unknown): [boolean, boolean] {
  const pk = publicKey as Uint8Array;
  const m = message as Uint8Array;
  const s = signature as Uint8Array;
  return [verify(pk, m, s), verifyZip215(pk, m, s)];
}

describe('keys and signing', () => {
  it('keyPairFromSeed is deterministic, copies the seed, and matches @noble/curves', () => {
    const seed = new Uint8Array(32).map((_, i) => i);
    const a = keyPairFromSeed(seed);
    const b = keyPairFromSeed(seed);
    expect(a.publicKey).toEqual(b.publicKey);
    expect(a.publicKey).toEqual(ed25519.getPublicKey(seed));
    expect(a.seed).toEqual(seed);
    expect(a.seed).not.toBe(seed);
    expect(a.secretKey).toBe(a.seed);
    expect(Object.isFrozen(a)).toBe(true);
    expect(publicKeyFromSeed(seed)).toEqual(a.publicKey);
    seed[0] = 99;
    expect(a.seed[0]).toBe(0);
  });

  it('returns plain Uint8Arrays, not Buffers', () => {
    expect(KEY.publicKey.constructor).toBe(Uint8Array);
    expect(KEY.seed.constructor).toBe(Uint8Array);
    expect(SIG.constructor).toBe(Uint8Array);
    expect(SIG).toHaveLength(64);
  });

  it('generateKeyPair gives distinct working key pairs', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.seed).toHaveLength(32);
    expect(a.publicKey).not.toEqual(b.publicKey);
    expect(keyPairFromSeed(a.seed).publicKey).toEqual(a.publicKey);
    expect(verify(a.publicKey, MSG, sign(a, MSG))).toBe(true);
  });

  it('sign accepts a seed or a key pair and produces the same bytes', () => {
    expect(sign(SEED, MSG)).toEqual(SIG);
    expect(sign(KEY.seed, MSG)).toEqual(SIG);
  });

  it('sign notices a seed array mutated after an earlier sign (no stale cached key)', () => {
    const seed = new Uint8Array(32).fill(1);
    const first = sign(seed, MSG);
    seed.fill(2);
    const second = sign(seed, MSG);
    expect(second).not.toEqual(first);
    expect(second).toEqual(ed25519.sign(MSG, seed));
  });

  it('sign and keyPairFromSeed reject malformed keys and messages', () => {
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
    expect(() => keyPairFromSeed(new Uint8Array(64))).toThrow(RangeError);
    expect(() => keyPairFromSeed('00' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sign(new Uint8Array(33), MSG)).toThrow(RangeError);
    expect(() => sign(null as unknown as Uint8Array, MSG)).toThrow(TypeError);
    expect(() => sign(KEY, 'synod' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('empty message: signs and verifies', () => {
    const empty = new Uint8Array(0);
    const sig = sign(KEY, empty);
    expect(sig).toEqual(ed25519.sign(empty, SEED));
    expect(both(KEY.publicKey, empty, sig)).toEqual([true, true]);
    expect(both(KEY.publicKey, Uint8Array.of(0), sig)).toEqual([false, false]);
  });

  it('property: sign/verify round-trip for random seeds and messages; node:crypto == noble byte for byte', () => {
    fc.assert(
      fc.property(seedArb, msgArb, (seed, msg) => {
        const kp = keyPairFromSeed(seed);
        const sig = sign(kp, msg);
        expect(kp.publicKey).toEqual(ed25519.getPublicKey(seed));
        expect(sig).toEqual(ed25519.sign(msg, seed));
        expect(verify(kp.publicKey, msg, sig)).toBe(true);
        expect(verifyZip215(kp.publicKey, msg, sig)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('verify: tampering', () => {
  it('property: flipping any bit of the signature makes verify false', () => {
    fc.assert(
      fc.property(seedArb, msgArb, fc.integer({ min: 0, max: 511 }), (seed, msg, bit) => {
        const kp = keyPairFromSeed(seed);
        const bad = flipBit(sign(kp, msg), bit);
        expect(both(kp.publicKey, msg, bad)).toEqual([false, false]);
      }),
      { numRuns: 80 },
    );
  });

  it('property: flipping any bit of the message makes verify false', () => {
    fc.assert(
      fc.property(seedArb, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (seed, msg, n) => {
        const kp = keyPairFromSeed(seed);
        const sig = sign(kp, msg);
        const bad = flipBit(msg, n % (msg.length * 8));
        expect(both(kp.publicKey, bad, sig)).toEqual([false, false]);
      }),
      { numRuns: 80 },
    );
  });

  it('a signature by one key does not verify under another (cached KeyObjects are not confused)', () => {
    const other = keyPairFromSeed(new Uint8Array(32).fill(8));
    expect(verify(KEY.publicKey, MSG, SIG)).toBe(true);
    expect(verify(other.publicKey, MSG, SIG)).toBe(false);
    expect(verify(KEY.publicKey, MSG, SIG)).toBe(true);
  });
});

describe('verify: malformed input never throws', () => {
  const notBytes: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a hex string', 'ab'.repeat(32)],
    ['a number', 42],
    ['a plain object', { length: 32 }],
    ['an array of numbers', Array.from({ length: 32 }, () => 0)],
    ['an ArrayBuffer', new ArrayBuffer(32)],
    ['a Uint16Array', new Uint16Array(16)],
    ['an Int8Array', new Int8Array(32)],
    ['a Uint8ClampedArray', new Uint8ClampedArray(32)],
    ['a DataView', new DataView(new ArrayBuffer(32))],
    [
      'a Proxy that throws',
      new Proxy(new Uint8Array(32), {
        get() {
          throw new Error('boom');
        },
      }),
    ],
  ];

  it.each(notBytes)('%s as public key, message or signature → false', (_, value) => {
    expect(both(value, MSG, SIG)).toEqual([false, false]);
    expect(both(KEY.publicKey, value, SIG)).toEqual([false, false]);
    expect(both(KEY.publicKey, MSG, value)).toEqual([false, false]);
  });

  it('wrong lengths of key or signature → false', () => {
    for (const n of [0, 1, 31, 33, 64]) {
      const pk = new Uint8Array(n);
      pk.set(KEY.publicKey.subarray(0, n));
      expect(both(pk, MSG, SIG)).toEqual([false, false]);
    }
    for (const n of [0, 32, 63, 65, 96, 128]) {
      const sig = new Uint8Array(n);
      sig.set(SIG.subarray(0, n));
      expect(both(KEY.publicKey, MSG, sig)).toEqual([false, false]);
    }
    // signature followed by garbage, and a truncated one
    expect(both(KEY.publicKey, MSG, concat(SIG, Uint8Array.of(0)))).toEqual([false, false]);
    expect(both(KEY.publicKey, MSG, SIG.subarray(0, 63))).toEqual([false, false]);
  });

  it('Buffers and subarray views are accepted like any Uint8Array', () => {
    const padded = new Uint8Array(200);
    padded.set(SIG, 10);
    expect(both(Buffer.from(KEY.publicKey), Buffer.from(MSG), Buffer.from(SIG))).toEqual([true, true]);
    expect(both(KEY.publicKey, MSG, padded.subarray(10, 74))).toEqual([true, true]);
  });

  it('property: arbitrary values never make verify throw; both verifiers agree', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (a, b, c) => {
        const [fast, slow] = both(a, b, c);
        expect(fast).toBe(slow);
        expect(fast).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('property: random bytes of the right lengths are rejected, without throwing, by both', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        msgArb,
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (pk, msg, sig) => {
          expect(both(pk, msg, sig)).toEqual([false, false]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

// Identity point: y = 1, x = 0.
const IDENTITY = hex('0100000000000000000000000000000000000000000000000000000000000000');
// Non-canonical encodings of the identity: the x sign bit set with x = 0; and y = p + 1.
const IDENTITY_SIGN_BIT = hex('0100000000000000000000000000000000000000000000000000000000000080');
const IDENTITY_Y_P_PLUS_1 = hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
// y = p ≡ 0: a non-canonical encoding of a point of order 4.
const ORDER4_Y_P = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
// The point of order 2 (y = -1).
const ORDER2 = hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
const ZERO_S = new Uint8Array(32);

describe('verify: constructed edge cases (ZIP-215 semantics)', () => {
  it('small-order public keys: with a small-order R and S = 0 the cofactored equation holds for any message', () => {
    expect(ED25519_TORSION_SUBGROUP).toHaveLength(8);
    const failures: string[] = [];
    for (const a of ED25519_TORSION_SUBGROUP) {
      for (const r of [IDENTITY, ORDER2]) {
        const sig = concat(r, ZERO_S);
        for (const msg of [MSG, new Uint8Array(0)]) {
          const [fast, slow] = both(hex(a), msg, sig);
          if (!fast || !slow) failures.push(`A=${a} R=${Buffer.from(r).toString('hex')}`);
          // the strict RFC 8032 profile rejects small-order keys: this really is a ZIP-215-only acceptance
          if (ed25519.verify(sig, msg, hex(a), { zip215: false })) failures.push(`strict accepted A=${a}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('small-order public key: an ordinary signature by another key does not verify under it', () => {
    for (const a of ED25519_TORSION_SUBGROUP) expect(both(hex(a), MSG, SIG)).toEqual([false, false]);
  });

  it('non-canonical encodings of A and R (x = 0 with sign bit, y >= p) are decoded and accepted', () => {
    const encodings = [IDENTITY_SIGN_BIT, IDENTITY_Y_P_PLUS_1, ORDER4_Y_P];
    for (const enc of encodings) {
      // really non-canonical: RFC 8032 decoding refuses them
      expect(() => Point.fromBytes(enc, false)).toThrow();
      expect(Point.fromBytes(enc, true).isSmallOrder()).toBe(true);
    }
    for (const a of [IDENTITY, ...encodings]) {
      for (const r of [IDENTITY, ...encodings]) {
        expect(both(a, MSG, concat(r, ZERO_S))).toEqual([true, true]);
      }
    }
  });

  it('a non-canonical encoding of a large-order point decodes to the same point as its canonical one', () => {
    // y = 3 is on the curve; y = p + 3 < 2^255 encodes the same point non-canonically
    const canonical = bigToBytesLE(3n);
    const nonCanonical = bigToBytesLE(2n ** 255n - 19n + 3n);
    expect(Point.fromBytes(nonCanonical, true).equals(Point.fromBytes(canonical, true))).toBe(true);
    expect(Point.fromBytes(canonical, true).isSmallOrder()).toBe(false);
    // its hash input differs (ZIP-215 hashes the bytes as received), so no signature carries over
    expect(both(nonCanonical, MSG, concat(IDENTITY, ZERO_S))).toEqual([false, false]);
  });

  it('an encoding that is not a curve point (y = 2) is rejected as key and as R', () => {
    const offCurve = bigToBytesLE(2n);
    expect(() => Point.fromBytes(offCurve, true)).toThrow();
    expect(both(offCurve, MSG, concat(IDENTITY, ZERO_S))).toEqual([false, false]);
    expect(both(IDENTITY, MSG, concat(offCurve, ZERO_S))).toEqual([false, false]);
  });

  it('S >= L is rejected, even where the equation would hold (S = L, identity A and R)', () => {
    // [L]B is the identity, so without the range check this would verify for any message.
    expect(both(IDENTITY, MSG, concat(IDENTITY, bigToBytesLE(L)))).toEqual([false, false]);
    expect(both(IDENTITY, MSG, concat(IDENTITY, bigToBytesLE(2n ** 256n - 1n)))).toEqual([false, false]);
    // malleated real signature: S + L is congruent to S but not canonical
    const s = bytesToBigLE(SIG.subarray(32));
    const malleated = concat(SIG.subarray(0, 32), bigToBytesLE(s + L));
    expect(both(KEY.publicKey, MSG, malleated)).toEqual([false, false]);
    expect(verifyOpenSsl(KEY.publicKey, MSG, malleated)).toBe(false);
  });

  // Signatures by a real key that OpenSSL (cofactorless, canonical R) rejects but ZIP-215 accepts:
  // with R a small-order point, S = k·a satisfies [8]SB = [8]R + [8]kA for k = H(R || A || M).
  function smallOrderRSignature(r: Uint8Array): Uint8Array {
    const k = challenge(r, KEY.publicKey, MSG);
    return concat(r, bigToBytesLE((k * secretScalar(KEY.seed)) % L));
  }

  it('real key, R = canonical identity: OpenSSL and ZIP-215 both accept (fast path)', () => {
    const sig = smallOrderRSignature(IDENTITY);
    expect(verifyOpenSsl(KEY.publicKey, MSG, sig)).toBe(true);
    expect(both(KEY.publicKey, MSG, sig)).toEqual([true, true]);
  });

  it('real key, R = non-canonical identity or a point of order 2: OpenSSL rejects, verify accepts via ZIP-215', () => {
    for (const r of [IDENTITY_SIGN_BIT, IDENTITY_Y_P_PLUS_1, ORDER2]) {
      const sig = smallOrderRSignature(r);
      expect(verifyOpenSsl(KEY.publicKey, MSG, sig)).toBe(false);
      expect(both(KEY.publicKey, MSG, sig)).toEqual([true, true]);
      expect(both(KEY.publicKey, utf8('other'), sig)).toEqual([false, false]);
    }
  });

  it('mixed-order public key A + T (T of order 8): ZIP-215 accepts what cofactorless OpenSSL mostly rejects', () => {
    const a = secretScalar(KEY.seed);
    const torsion = Point.fromBytes(hex(ED25519_TORSION_SUBGROUP[1]!), true);
    const mixed = Point.BASE.multiply(a).add(torsion).toBytes();
    let opensslRejected = 0;
    for (let i = 0; i < 16; i++) {
      const msg = utf8(`mixed ${i}`);
      // any nonce scalar in [1, L) will do for a test
      const r = (challenge(new Uint8Array(0), utf8(`nonce ${i}`), msg) % (L - 1n)) + 1n;
      const rBytes = Point.BASE.multiply(r).toBytes();
      const k = challenge(rBytes, mixed, msg);
      const sig = concat(rBytes, bigToBytesLE((r + k * a) % L));
      expect(both(mixed, msg, sig)).toEqual([true, true]);
      if (!verifyOpenSsl(mixed, msg, sig)) opensslRejected++;
    }
    // OpenSSL accepts only when k ≡ 0 (mod 8): about 2 of 16
    expect(opensslRejected).toBeGreaterThan(8);
  });
});

describe('verify: stats and KeyObject cache', () => {
  it('counts fast-path accepts, fallbacks and malformed calls; hits the cache for a repeated key', () => {
    clearKeyObjectCache();
    resetVerifyStats();
    expect(verify(KEY.publicKey, MSG, SIG)).toBe(true);
    expect(verify(KEY.publicKey, MSG, SIG)).toBe(true);
    expect(verify(KEY.publicKey, utf8('x'), SIG)).toBe(false);
    expect(verify(KEY.publicKey, MSG, SIG.subarray(1))).toBe(false);
    const s = verifyStats();
    expect(s).toMatchObject({
      fastAccepted: 2,
      // OpenSSL's "no" over canonical, torsion-free A and R is final (no fallback)
      fastRejected: 1,
      fallbackCalls: 0,
      fallbackAccepted: 0,
      malformed: 1,
      keyCacheMisses: 1,
      keyCacheHits: 2,
      keyCacheSize: 1,
      keyCacheCapacity: KEY_OBJECT_CACHE_CAPACITY,
    });
    expect(KEY_OBJECT_CACHE_CAPACITY).toBe(4096);
  });

  it('the fast path is skipped for S >= L (rejected at once) and non-canonical keys (noble decides)', () => {
    // canonical identity R with S = k·a (see above) is accepted by OpenSSL; the same with a
    // non-canonical encoding of A is not something we let OpenSSL decide
    const mixedEncodingKey = IDENTITY_Y_P_PLUS_1;
    const sig = concat(IDENTITY, ZERO_S);
    resetVerifyStats();
    expect(verify(mixedEncodingKey, MSG, sig)).toBe(true);
    expect(verify(KEY.publicKey, MSG, concat(SIG.subarray(0, 32), bigToBytesLE(L)))).toBe(false);
    expect(verifyStats()).toMatchObject({
      fastAccepted: 0,
      fastRejected: 1,
      fallbackCalls: 1,
      fallbackAccepted: 1,
      keyCacheMisses: 0,
    });
  });
});

describe('verify: the ZIP-215 fallback runs only where OpenSSL and ZIP-215 can disagree', () => {
  const a = secretScalar(KEY.seed);
  const order8 = Point.fromBytes(hex(ED25519_TORSION_SUBGROUP[1]!), true);

  /** A valid ZIP-215 signature by KEY whose R = [r]B + torsion: only the key holder can make one. */
  function mixedOrderRSignature(msg: Uint8Array, torsion: typeof order8): Uint8Array {
    const r = (challenge(new Uint8Array(0), utf8('mixed nonce'), msg) % (L - 1n)) + 1n;
    const rBytes = Point.BASE.multiply(r).add(torsion).toBytes();
    const k = challenge(rBytes, KEY.publicKey, msg);
    return concat(rBytes, bigToBytesLE((r + k * a) % L));
  }

  it('property: a random forged signature (altered S, or another message) never reaches the fallback', () => {
    fc.assert(
      fc.property(seedArb, msgArb, fc.integer({ min: 0, max: 251 }), (seed, msg, bit) => {
        const kp = keyPairFromSeed(seed);
        const sig = sign(kp, msg);
        resetVerifyStats();
        const forgedS = flipBit(sig, 256 + bit); // bits 0..251 of S: S stays below L
        expect(verify(kp.publicKey, msg, forgedS)).toBe(false);
        expect(verify(kp.publicKey, concat(msg, utf8('!')), sig)).toBe(false);
        expect(verifyZip215(kp.publicKey, msg, forgedS)).toBe(false);
        const s = verifyStats();
        expect({ fallbackCalls: s.fallbackCalls, fastRejected: s.fastRejected }).toEqual({
          fallbackCalls: 0,
          fastRejected: 2,
        });
      }),
      { numRuns: 40 },
    );
  });

  it('a ZIP-215-only signature (mixed-order R, valid) is accepted through the fallback', () => {
    for (let i = 1; i < 8; i++) {
      const msg = utf8(`mixed R ${i}`);
      const sig = mixedOrderRSignature(msg, order8.multiply(BigInt(i)));
      expect(verifyOpenSsl(KEY.publicKey, msg, sig)).toBe(false);
      resetVerifyStats();
      expect(both(KEY.publicKey, msg, sig)).toEqual([true, true]);
      expect(verifyStats()).toMatchObject({ fallbackCalls: 1, fallbackAccepted: 1, fastRejected: 0 });
    }
  });

  it('non-canonical R and small-order R also reach the fallback (where ZIP-215 can say yes)', () => {
    for (const r of [IDENTITY_SIGN_BIT, IDENTITY_Y_P_PLUS_1, ORDER2]) {
      const k = challenge(r, KEY.publicKey, MSG);
      const sig = concat(r, bigToBytesLE((k * a) % L));
      resetVerifyStats();
      expect(verify(KEY.publicKey, MSG, sig)).toBe(true);
      expect(verifyStats().fallbackCalls).toBe(1);
    }
  });

  it('a mixed-order public key sends its OpenSSL rejections to the fallback', () => {
    const mixed = Point.BASE.multiply(a).add(order8).toBytes();
    resetVerifyStats();
    expect(both(mixed, MSG, SIG)).toEqual([false, false]);
    expect(verifyStats().fallbackCalls).toBe(1);
  });

  it('isTorsionFreeEncoding: prime-order points yes; small-order, mixed-order and off-curve points no', () => {
    expect(isTorsionFreeEncoding(IDENTITY)).toBe(true);
    expect(isTorsionFreeEncoding(KEY.publicKey)).toBe(true);
    expect(isTorsionFreeEncoding(SIG.subarray(0, 32))).toBe(true);
    expect(isTorsionFreeEncoding(Point.BASE.toBytes())).toBe(true);
    for (const t of ED25519_TORSION_SUBGROUP) {
      const p = Point.fromBytes(hex(t), true);
      if (p.is0()) continue;
      expect(isTorsionFreeEncoding(hex(t))).toBe(false);
      expect(isTorsionFreeEncoding(Point.fromBytes(KEY.publicKey).add(p).toBytes())).toBe(false);
    }
    expect(isTorsionFreeEncoding(bigToBytesLE(2n))).toBe(false); // y = 2: not on the curve
  });

  it('property: isTorsionFreeEncoding agrees with noble on random points with and without torsion', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: L - 1n }), fc.integer({ min: 0, max: 7 }), (x, t) => {
        const p = Point.BASE.multiply(x).add(order8.multiply(BigInt(t) + 8n));
        expect(isTorsionFreeEncoding(p.toBytes())).toBe(p.isTorsionFree());
      }),
      { numRuns: 40 },
    );
  });
});

describe('fast-path eligibility checks', () => {
  it('isCanonicalScalar: S < L only', () => {
    const withS = (s: bigint) => concat(new Uint8Array(32), bigToBytesLE(s));
    expect(isCanonicalScalar(withS(0n))).toBe(true);
    expect(isCanonicalScalar(withS(L - 1n))).toBe(true);
    expect(isCanonicalScalar(withS(L))).toBe(false);
    expect(isCanonicalScalar(withS(L + 1n))).toBe(false);
    expect(isCanonicalScalar(withS(2n ** 252n))).toBe(true);
    expect(isCanonicalScalar(withS(2n ** 253n))).toBe(false);
    expect(isCanonicalScalar(withS(2n ** 256n - 1n))).toBe(false);
  });

  it('property: isCanonicalScalar agrees with bigint comparison', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        fc.bigInt({ min: L - 1000n, max: L + 1000n }),
        (a, b) => {
          for (const s of [a, b]) {
            expect(isCanonicalScalar(concat(new Uint8Array(32), bigToBytesLE(s)))).toBe(s < L);
          }
        },
      ),
    );
  });

  it('isCanonicalEncoding: y < p and no x = 0 with the sign bit', () => {
    const p = 2n ** 255n - 19n;
    const SIGN = 2n ** 255n;
    for (const y of [0n, 1n, 3n, p - 2n, p - 1n]) expect(isCanonicalEncoding(bigToBytesLE(y))).toBe(true);
    for (const y of [0n, 3n, p - 2n]) expect(isCanonicalEncoding(bigToBytesLE(y + SIGN))).toBe(true);
    for (let d = 0n; d < 19n; d++) {
      expect(isCanonicalEncoding(bigToBytesLE(p + d))).toBe(false);
      expect(isCanonicalEncoding(bigToBytesLE(p + d + SIGN))).toBe(false);
    }
    expect(isCanonicalEncoding(IDENTITY_SIGN_BIT)).toBe(false);
    expect(isCanonicalEncoding(bigToBytesLE(p - 1n + SIGN))).toBe(false);
  });

  it('property: isCanonicalEncoding agrees with RFC 8032 decoding on curve points', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 38 }),
        (bytes, d) => {
          // random encodings plus the high edge y = p + d (with and without the sign bit)
          const y = 2n ** 255n - 19n - 20n + BigInt(d);
          const candidates = [bytes, bigToBytesLE((bytes[0]! & 1) === 1 ? y + 2n ** 255n : y)];
          for (const enc of candidates) {
            let zip: boolean;
            try {
              Point.fromBytes(enc, true);
              zip = true;
            } catch {
              zip = false;
            }
            if (!zip) continue; // off-curve: not our concern here
            let strict: boolean;
            try {
              Point.fromBytes(enc, false);
              strict = true;
            } catch {
              strict = false;
            }
            expect(isCanonicalEncoding(enc)).toBe(strict);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
