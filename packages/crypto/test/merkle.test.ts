import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.js';
import { merkleLeafHash, merkleNodeHash, merkleProof, merkleRoot, verifyMerkleProof } from '../src/merkle.js';
import { concat, flipBit, hex } from './helpers.js';

/**
 * An independent, literal transcription of RFC 6962 §2.1 (Buffer.concat +
 * createHash, slicing arrays) to cross-check the implementation.
 */
function h(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
}
function referenceMth(d: readonly Uint8Array[]): Uint8Array {
  const n = d.length;
  if (n === 0) return h();
  if (n === 1) return h(Uint8Array.of(0), d[0]!);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return h(Uint8Array.of(1), referenceMth(d.slice(0, k)), referenceMth(d.slice(k)));
}
function referencePath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  const n = d.length;
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k
    ? [...referencePath(m, d.slice(0, k)), referenceMth(d.slice(k))]
    : [...referencePath(m - k, d.slice(k)), referenceMth(d.slice(0, k))];
}

// The Certificate Transparency reference test data (certificate-transparency / CT-go merkle tests):
// eight leaves and the tree hashes of their first 1..8 leaves.
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(hex);
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// Inclusion proofs from the same test data: [leaf index, tree size, audit path].
const CT_PROOFS: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

const leavesArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 40 });

describe('merkleRoot (RFC 6962)', () => {
  it('empty list: SHA-256 of the empty string', () => {
    expect(toHex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('Certificate Transparency test vectors: roots of the first 1..8 leaves', () => {
    const roots = CT_ROOTS.map((_, i) => toHex(merkleRoot(CT_LEAVES.slice(0, i + 1))));
    expect(roots).toEqual(CT_ROOTS);
  });

  it('one leaf: SHA-256(0x00 || leaf); two: SHA-256(0x01 || l || r)', () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = Uint8Array.of(4);
    expect(merkleRoot([a])).toEqual(h(Uint8Array.of(0), a));
    expect(merkleLeafHash(a)).toEqual(h(Uint8Array.of(0), a));
    expect(merkleRoot([a, b])).toEqual(h(Uint8Array.of(1), merkleLeafHash(a), merkleLeafHash(b)));
    expect(merkleNodeHash(merkleLeafHash(a), merkleLeafHash(b))).toEqual(merkleRoot([a, b]));
  });

  it('splits at the largest power of two below n (5 leaves = 4 + 1, not 3 + 2)', () => {
    const d = [1, 2, 3, 4, 5].map((x) => Uint8Array.of(x));
    expect(merkleRoot(d)).toEqual(merkleNodeHash(merkleRoot(d.slice(0, 4)), merkleLeafHash(d[4]!)));
  });

  it('resists the classic mutations: duplicated last leaf, and an inner node posing as a leaf', () => {
    const d = [1, 2, 3].map((x) => Uint8Array.of(x));
    expect(merkleRoot(d)).not.toEqual(merkleRoot([...d, d[2]!]));
    const inner = concat(merkleLeafHash(d[0]!), merkleLeafHash(d[1]!));
    expect(merkleRoot([inner])).not.toEqual(merkleRoot(d.slice(0, 2)));
  });

  it('rejects non-array input and non-Uint8Array leaves', () => {
    expect(() => merkleRoot('ab' as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => merkleRoot(['ab' as unknown as Uint8Array])).toThrow(TypeError);
  });

  it('property: equals the literal recursive reference implementation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 70 }), (leaves) => {
        expect(merkleRoot(leaves)).toEqual(referenceMth(leaves));
      }),
      { numRuns: 200 },
    );
  });
});

describe('merkleProof / verifyMerkleProof', () => {
  it('Certificate Transparency inclusion proof vectors', () => {
    for (const [index, size, path] of CT_PROOFS) {
      const leaves = CT_LEAVES.slice(0, size);
      expect(merkleProof(leaves, index).map(toHex)).toEqual(path);
      expect(verifyMerkleProof(merkleRoot(leaves), leaves[index]!, index, size, path.map(hex))).toBe(true);
    }
  });

  it('property: every leaf has a proof that verifies and equals the reference PATH(m, D[n])', () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const root = merkleRoot(leaves);
        leaves.forEach((leaf, i) => {
          const proof = merkleProof(leaves, i);
          expect(proof).toEqual(referencePath(i, leaves));
          expect(verifyMerkleProof(root, leaf, i, leaves.length, proof)).toBe(true);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('property: a changed leaf or root, another index, or a tampered proof do not verify', () => {
    // distinct leaves: with duplicates, a proof legitimately also proves the equal leaf elsewhere
    const distinctLeaves = fc.uniqueArray(fc.uint8Array({ maxLength: 40 }), {
      minLength: 1,
      maxLength: 40,
      selector: (b) => toHex(b),
    });
    fc.assert(
      fc.property(distinctLeaves, fc.nat(), fc.nat(), (leaves, a, b) => {
        const n = leaves.length;
        const i = a % n;
        const leaf = leaves[i]!;
        const root = merkleRoot(leaves);
        const proof = merkleProof(leaves, i);
        const changed = leaf.length === 0 ? Uint8Array.of(0) : flipBit(leaf, b % (leaf.length * 8));
        expect(verifyMerkleProof(root, changed, i, n, proof)).toBe(false);
        if (n > 1) {
          const j = (i + 1 + (b % (n - 1))) % n; // any other index
          expect(verifyMerkleProof(root, leaf, j, n, proof)).toBe(false);
          const k = b % proof.length;
          const tampered = proof.map((p, idx) => (idx === k ? flipBit(p, b % 256) : p));
          expect(verifyMerkleProof(root, leaf, i, n, tampered)).toBe(false);
          expect(verifyMerkleProof(root, leaf, i, n, proof.slice(1))).toBe(false);
        }
        expect(verifyMerkleProof(root, leaf, i, n, [...proof, new Uint8Array(32)])).toBe(false);
        expect(verifyMerkleProof(flipBit(root, b % 256), leaf, i, n, proof)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('malformed arguments give false, never throw', () => {
    const leaves = [Uint8Array.of(1), Uint8Array.of(2)];
    const root = merkleRoot(leaves);
    const proof = merkleProof(leaves, 0);
    const leaf = leaves[0]!;
    expect(verifyMerkleProof(root, leaf, 0, 2, proof)).toBe(true);
    expect(verifyMerkleProof(root.subarray(1), leaf, 0, 2, proof)).toBe(false);
    expect(verifyMerkleProof(root, 'x' as unknown as Uint8Array, 0, 2, proof)).toBe(false);
    expect(verifyMerkleProof(root, leaf, -1, 2, proof)).toBe(false);
    expect(verifyMerkleProof(root, leaf, 2, 2, proof)).toBe(false);
    expect(verifyMerkleProof(root, leaf, 0.5, 2, proof)).toBe(false);
    expect(verifyMerkleProof(root, leaf, 0, Number.NaN, proof)).toBe(false);
    expect(verifyMerkleProof(root, leaf, 0, 2, [proof[0]!.subarray(1)])).toBe(false);
    expect(verifyMerkleProof(root, leaf, 0, 2, null as unknown as Uint8Array[])).toBe(false);
    expect(verifyMerkleProof(root, leaf, 0, 2, [null as unknown as Uint8Array])).toBe(false);
  });

  it('merkleProof rejects an index out of range', () => {
    expect(() => merkleProof([Uint8Array.of(1)], 1)).toThrow(RangeError);
    expect(() => merkleProof([Uint8Array.of(1)], -1)).toThrow(RangeError);
    expect(() => merkleProof([], 0)).toThrow(RangeError);
  });
});
