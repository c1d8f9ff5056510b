import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../src/bytes.js';
import { keyPairFromSeed } from '../src/ed25519.js';
import { isCanonicalTorsionFreePublicKey, publicKeyProblem } from '../src/index.js';
import { VECTORS_DIR } from './vectors.js';

interface CctvCase {
  readonly key: string;
  readonly flags: readonly string[] | null;
}

describe('validator public keys: canonical and torsion-free (#11.22)', () => {
  it('every key made from a seed passes', () => {
    for (let i = 0; i < 64; i++) {
      const k = keyPairFromSeed(new Uint8Array(32).fill(i));
      expect(publicKeyProblem(k.publicKey)).toBeUndefined();
    }
  });

  it('refuses every small-order, torsioned or non-canonical key of the CCTV vectors, accepts the clean one', () => {
    const cases = JSON.parse(
      readFileSync(new URL('cctv-ed25519vectors.json', VECTORS_DIR), 'utf8'),
    ) as CctvCase[];
    const bad = new Map<string, boolean>();
    for (const c of cases) {
      const flagged = (c.flags ?? []).some((f) => f.endsWith('_A'));
      bad.set(c.key, (bad.get(c.key) ?? false) || flagged);
    }
    expect(bad.size).toBeGreaterThan(20);
    let refused = 0;
    for (const [key, isBad] of bad) {
      expect(isCanonicalTorsionFreePublicKey(fromHex(key)), key).toBe(!isBad);
      if (isBad) refused++;
    }
    expect(refused).toBeGreaterThanOrEqual(20);
  });

  it('refuses the identity, every bad key of the speccheck cases, and wrong lengths', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(publicKeyProblem(identity)).toMatch(/small-order/);
    const spec = JSON.parse(readFileSync(new URL('ed25519-speccheck-cases.json', VECTORS_DIR), 'utf8')) as {
      pub_key: string;
    }[];
    // speccheck: cases 0-1 have a small-order A, 2-5 and 8-9 a mixed-order A (torsion component),
    // 10-11 a non-canonical A; only 6-7 have a clean A.
    spec.forEach((c, i) => {
      expect(isCanonicalTorsionFreePublicKey(fromHex(c.pub_key)), `speccheck case ${i}`).toBe(
        i === 6 || i === 7,
      );
    });
    expect(publicKeyProblem(fromHex(spec[0]?.pub_key ?? ''))).toMatch(/small-order point/);
    expect(publicKeyProblem(fromHex(spec[2]?.pub_key ?? ''))).toMatch(/torsion/);
    expect(publicKeyProblem(new Uint8Array(31))).toMatch(/32 bytes/);
    const notCanonical = new Uint8Array(32).fill(0xff); // y >= p
    expect(publicKeyProblem(notCanonical)).toMatch(/canonical/);
  });

  it('remembers accepted keys by their bytes: a buffer changed after a pass is checked again', () => {
    const spec = JSON.parse(readFileSync(new URL('ed25519-speccheck-cases.json', VECTORS_DIR), 'utf8')) as {
      pub_key: string;
    }[];
    const clean = keyPairFromSeed(new Uint8Array(32).fill(200)).publicKey;
    const torsioned = fromHex(spec[2]?.pub_key ?? '');
    const key = clean.slice();
    expect(publicKeyProblem(key)).toBeUndefined();
    expect(publicKeyProblem(key)).toBeUndefined(); // remembered
    key.set(torsioned); // the same buffer now holds a key with a torsion component
    expect(publicKeyProblem(key)).toMatch(/torsion/);
    expect(publicKeyProblem(key)).toMatch(/torsion/); // a refusal is never remembered as a pass
    // a view into a larger buffer is keyed by its own 32 bytes
    const wide = new Uint8Array(40);
    wide.set(clean, 8);
    expect(publicKeyProblem(wide.subarray(8))).toBeUndefined();
    wide[8] = (wide[8] as number) ^ 1;
    expect(publicKeyProblem(wide.subarray(8))).toBe(publicKeyProblem(wide.slice(8)));
  });
});
