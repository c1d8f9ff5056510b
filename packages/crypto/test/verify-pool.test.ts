import { afterAll, describe, expect, it } from 'vitest';
import {
  createVerifyCache,
  createVerifyPool,
  keyPairFromSeed,
  sign,
  type VerifyItem,
  verify,
  verifyStats,
} from '../src/index.js';
import { cctv, speccheck, wycheproof, zip215 } from './vectors.js';

const key = keyPairFromSeed(new Uint8Array(32).fill(7));
const other = keyPairFromSeed(new Uint8Array(32).fill(8));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const item = (i: number, signer = key): VerifyItem => {
  const message = utf8(`tx ${i}`);
  return { publicKey: key.publicKey, message, signature: sign(signer, message) };
};

describe('createVerifyPool', () => {
  const pool = createVerifyPool({ workers: 2, batchMax: 64 });
  afterAll(() => pool.close());

  it("answers as verify does on every public vector (ZIP-215's edge cases included)", async () => {
    const cases = [...wycheproof(), ...speccheck(), ...zip215(), ...cctv()];
    expect(cases.length).toBeGreaterThan(1000);
    const answers = await pool.verifyMany(cases);
    const wrong = cases.filter((c, i) => answers[i] !== verify(c.publicKey, c.message, c.signature));
    expect(wrong.map((c) => c.name)).toEqual([]);
    // both answers occur, and most went through a worker
    expect(answers.filter(Boolean).length).toBeGreaterThan(0);
    expect(answers.filter((a) => !a).length).toBeGreaterThan(0);
    expect(pool.stats().offloaded).toBeGreaterThan(cases.length / 2);
    expect(pool.stats().batches).toBeGreaterThan(1);
    expect(pool.stats().inFlight).toBe(0);
  });

  it('keeps the order of a batch and rejects what verify rejects: bad signatures, wrong lengths, non-bytes', async () => {
    const good = Array.from({ length: 300 }, (_, i) => item(i));
    const bad = item(7, other);
    const flipped = {
      ...item(8),
      signature: Uint8Array.from(item(8).signature, (b, i) => (i === 5 ? b ^ 1 : b)),
    };
    const short = { ...item(9), signature: item(9).signature.subarray(0, 63) };
    const notBytes = {
      publicKey: 'x',
      message: utf8('m'),
      signature: item(1).signature,
    } as unknown as VerifyItem;
    const highS = {
      ...item(10),
      signature: Uint8Array.from(item(10).signature, (b, i) => (i === 63 ? 0xff : b)),
    };
    const all = [...good.slice(0, 150), bad, flipped, short, notBytes, highS, ...good.slice(150)];
    const answers = await pool.verifyMany(all);
    expect(answers).toEqual(all.map((_, i) => i < 150 || i >= 155));
    expect(await pool.verifyMany([])).toEqual([]);
  });

  it('sends the calls of one turn of the event loop together', async () => {
    const before = pool.stats().batches;
    const singles = Array.from({ length: 50 }, (_, i) => pool.verifyMany([item(i, i === 17 ? other : key)]));
    const answers = (await Promise.all(singles)).map((a) => a[0]);
    expect(answers).toEqual(answers.map((_, i) => i !== 17));
    expect(pool.stats().batches - before).toBe(2); // one message per worker, not 50
  });

  it('stopAtFirstFailure: after a rejection, the rest are answered false without the costly check', async () => {
    // a non-canonical R: OpenSSL says no and only noble's full ZIP-215 check (~3 ms) can decide
    const nonCanonicalR = (i: number): VerifyItem => {
      const it = item(i);
      const signature = Uint8Array.from(it.signature);
      signature.set([0xee, ...new Array<number>(30).fill(0xff), 0x7f], 0);
      return { ...it, signature };
    };
    const batch = [item(1), item(2), ...Array.from({ length: 20 }, (_, i) => nonCanonicalR(100 + i))];
    const fallbacks = () => verifyStats().fallbackCalls;
    let before = fallbacks();
    expect(await pool.verifyMany(batch)).toEqual(batch.map((_, i) => i < 2));
    expect(fallbacks() - before).toBe(20);
    before = fallbacks();
    expect(await pool.verifyMany(batch, { stopAtFirstFailure: true })).toEqual(batch.map((_, i) => i < 2));
    expect(fallbacks() - before).toBeLessThanOrEqual(2); // at most the first of each worker's message
    // the same on the calling thread (no pool) and through the cache
    before = fallbacks();
    let calls = 0;
    const cache = createVerifyCache({
      verify: (p, m, s) => {
        calls++;
        return verify(p, m, s);
      },
    });
    expect(await cache.verifyMany(batch, { stopAtFirstFailure: true })).toEqual(batch.map((_, i) => i < 2));
    expect(calls).toBe(3);
    expect(fallbacks() - before).toBe(1);
    const pooled = createVerifyCache({ pool });
    before = fallbacks();
    expect(await pooled.verifyMany(batch, { stopAtFirstFailure: true })).toEqual(batch.map((_, i) => i < 2));
    expect(fallbacks() - before).toBeLessThanOrEqual(2);
  });

  it('verifies on the calling thread past maxInFlight, and after close', async () => {
    const small = createVerifyPool({ workers: 1, maxInFlight: 10 });
    const items = Array.from({ length: 11 }, (_, i) => item(i));
    expect(await small.verifyMany(items)).toEqual(items.map(() => true));
    expect(small.stats()).toMatchObject({ inline: 11, offloaded: 0 });
    expect(await small.verifyMany(items.slice(0, 10))).toEqual(items.slice(0, 10).map(() => true));
    expect(small.stats()).toMatchObject({ inline: 11, offloaded: 10 });
    await small.close();
    expect(small.stats().workers).toBe(0);
    expect(await small.verifyMany([item(1), item(2, other)])).toEqual([true, false]);
    expect(small.stats().inline).toBe(13);
  });

  it('refuses a pool without workers', () => {
    expect(() => createVerifyPool({ workers: 0 })).toThrow(RangeError);
  });
});

describe('createVerifyCache with a pool', () => {
  it('remembers what the pool accepted, so a later verify is a hit; never a rejection', async () => {
    const pool = createVerifyPool({ workers: 1 });
    try {
      const cache = createVerifyCache({ pool });
      const good = item(1);
      const bad = item(2, other);
      expect(await cache.verifyMany([good, bad, good])).toEqual([true, false, true]);
      expect(pool.stats().offloaded).toBe(3);
      expect(cache.verify(good.publicKey, good.message, good.signature)).toBe(true);
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 3, size: 1 });
      expect(await cache.verifyMany([good, bad])).toEqual([true, false]);
      expect(pool.stats().offloaded).toBe(4);
    } finally {
      await pool.close();
    }
  });

  it('without a pool, verifyMany uses the cache’s verify', async () => {
    let calls = 0;
    const cache = createVerifyCache({
      verify: (p, m, s) => {
        calls++;
        return verify(p, m, s);
      },
    });
    expect(await cache.verifyMany([item(1), item(1), item(2, other)])).toEqual([true, true, false]);
    expect(calls).toBe(3);
    expect(await cache.verifyMany([item(1)])).toEqual([true]);
    expect(calls).toBe(3);
  });
});
