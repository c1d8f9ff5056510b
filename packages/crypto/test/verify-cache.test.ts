import { describe, expect, it } from 'vitest';
import { createVerifyCache, keyPairFromSeed, sign, verify } from '../src/index.js';

const key = keyPairFromSeed(new Uint8Array(32).fill(7));
const other = keyPairFromSeed(new Uint8Array(32).fill(8));
const msg = new TextEncoder().encode('vote 1/0');

describe('createVerifyCache', () => {
  it('answers as verify does, verifying an accepted signature once', () => {
    let calls = 0;
    const cache = createVerifyCache({
      verify: (p, m, s) => {
        calls++;
        return verify(p, m, s);
      },
    });
    const sig = sign(key, msg);
    expect(cache.verify(key.publicKey, msg, sig)).toBe(true);
    expect(cache.verify(key.publicKey, msg, sig)).toBe(true);
    expect(calls).toBe(1);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
    // Same signature, another key or message: a real check, and the right answer.
    expect(cache.verify(other.publicKey, msg, sig)).toBe(false);
    expect(cache.verify(key.publicKey, new TextEncoder().encode('vote 1/1'), sig)).toBe(false);
    expect(calls).toBe(3);
  });

  it('never remembers a rejection, and a flood of bad signatures evicts nothing', () => {
    const cache = createVerifyCache({ capacity: 2 });
    const good = sign(key, msg);
    expect(cache.verify(key.publicKey, msg, good)).toBe(true);
    for (let i = 0; i < 100; i++) {
      const bad = sign(other, new Uint8Array([i]));
      expect(cache.verify(key.publicKey, msg, bad)).toBe(false);
    }
    expect(cache.stats().size).toBe(1);
    expect(cache.verify(key.publicKey, msg, good)).toBe(true);
    expect(cache.stats().hits).toBe(1);
  });

  it('is bounded: the least recently used accepted signature goes first', () => {
    const cache = createVerifyCache({ capacity: 2 });
    const msgs = [1, 2, 3].map((i) => new Uint8Array([i]));
    const sigs = msgs.map((m) => sign(key, m));
    for (let i = 0; i < 3; i++) cache.verify(key.publicKey, msgs[i]!, sigs[i]!);
    expect(cache.stats().size).toBe(2);
    const before = cache.stats().misses;
    cache.verify(key.publicKey, msgs[0]!, sigs[0]!); // evicted: verified again
    expect(cache.stats().misses).toBe(before + 1);
  });

  it('never lets malformed lengths collide with a remembered signature', () => {
    const cache = createVerifyCache();
    const sig = sign(key, msg);
    expect(cache.verify(key.publicKey, msg, sig)).toBe(true);
    // The same bytes split differently: public key 31 bytes, the rest shifted into the signature.
    const pub31 = key.publicKey.subarray(0, 31);
    const sig65 = new Uint8Array([key.publicKey[31]!, ...sig]);
    expect(cache.verify(pub31, msg, sig65)).toBe(false);
  });
});
