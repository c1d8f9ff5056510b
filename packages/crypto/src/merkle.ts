/**
 * Merkle trees, RFC 6962 (Certificate Transparency) §2.1, with SHA-256:
 *
 *   MTH({})       = SHA-256()                                  (empty list)
 *   MTH({d0})     = SHA-256(0x00 || d0)                        (leaf)
 *   MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  for n > 1,
 *                   k = the largest power of two smaller than n.
 *
 * The 0x00/0x01 prefixes separate leaves from inner nodes (no second-preimage
 * trick turns an inner node into a leaf), and the split rule makes the tree of
 * n leaves unique without duplicating odd leaves (no CVE-2012-2459-style
 * mutation). Audit paths follow RFC 6962 §2.1.1 and are checked with the
 * algorithm of RFC 9162 §2.1.3.2.
 */

import { createHash, hash } from 'node:crypto';
import { bytesEqual, fromBuffer, isBytes } from './bytes.js';
import { SHA256_LENGTH, sha256 } from './hash.js';

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/**
 * Scratch space for the prefixed hash inputs: one-shot `crypto.hash` over a
 * reused buffer is ~3x faster than a `createHash` object per node. Hashing is
 * synchronous, so sharing it is safe.
 */
const SCRATCH_SIZE = 4096;
const scratch = Buffer.alloc(SCRATCH_SIZE);

/** SHA-256(0x00 || data): the hash of one leaf. */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  if (!isBytes(data)) throw new TypeError('merkle: leaves must be Uint8Arrays');
  if (data.length < SCRATCH_SIZE) {
    scratch[0] = LEAF_PREFIX;
    scratch.set(data, 1);
    return fromBuffer(hash('sha256', scratch.subarray(0, 1 + data.length), 'buffer'));
  }
  return fromBuffer(createHash('sha256').update(Uint8Array.of(LEAF_PREFIX)).update(data).digest());
}

/** SHA-256(0x01 || left || right): the hash of an inner node (of two 32-byte hashes). */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!isBytes(left) || !isBytes(right) || left.length !== SHA256_LENGTH || right.length !== SHA256_LENGTH) {
    throw new TypeError('merkleNodeHash: expected two 32-byte hashes');
  }
  scratch[0] = NODE_PREFIX;
  scratch.set(left, 1);
  scratch.set(right, 1 + SHA256_LENGTH);
  return fromBuffer(hash('sha256', scratch.subarray(0, 1 + 2 * SHA256_LENGTH), 'buffer'));
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over hashes[start, end), end - start >= 1. */
function subtreeRoot(hashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return hashes[start]!;
  const k = splitPoint(n);
  return merkleNodeHash(subtreeRoot(hashes, start, start + k), subtreeRoot(hashes, start + k, end));
}

/**
 * The RFC 6962 Merkle tree hash of `leaves` (each leaf is raw data; it is hashed
 * as SHA-256(0x00 || leaf)). The empty list gives SHA-256 of the empty string.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(leaves)) throw new TypeError('merkleRoot: expected an array of Uint8Arrays');
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  return subtreeRoot(leaves.map(merkleLeafHash), 0, leaves.length);
}

/** PATH(m, D[start:end]) of RFC 6962 §2.1.1, m absolute, appended leaf-to-root to `out`. */
function auditPath(
  hashes: readonly Uint8Array[],
  start: number,
  end: number,
  m: number,
  out: Uint8Array[],
): void {
  const n = end - start;
  if (n <= 1) return;
  const k = splitPoint(n);
  if (m < start + k) {
    auditPath(hashes, start, start + k, m, out);
    out.push(subtreeRoot(hashes, start + k, end));
  } else {
    auditPath(hashes, start + k, end, m, out);
    out.push(subtreeRoot(hashes, start, start + k));
  }
}

/**
 * The audit path (RFC 6962 §2.1.1) of leaf `index` in the tree of `leaves`: the
 * sibling subtree hashes from the leaf up to the root. Throws a RangeError for
 * an index outside [0, leaves.length).
 */
export function merkleProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Array.isArray(leaves)) throw new TypeError('merkleProof: expected an array of Uint8Arrays');
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`merkleProof: index ${index} out of range for ${leaves.length} leaves`);
  }
  const out: Uint8Array[] = [];
  auditPath(leaves.map(merkleLeafHash), 0, leaves.length, index, out);
  return out;
}

/**
 * True when `proof` shows that `leaf` (raw data) is leaf number `index` of a
 * tree of `total` leaves with root `root` (RFC 9162 §2.1.3.2). Returns false,
 * never throws, on malformed input.
 */
export function verifyMerkleProof(
  root: Uint8Array,
  leaf: Uint8Array,
  index: number,
  total: number,
  proof: readonly Uint8Array[],
): boolean {
  try {
    if (!isBytes(root) || root.length !== SHA256_LENGTH || !isBytes(leaf)) return false;
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(total) || index < 0 || index >= total) {
      return false;
    }
    if (!Array.isArray(proof)) return false;
    let fn = index;
    let sn = total - 1;
    let r = merkleLeafHash(leaf);
    for (const p of proof) {
      if (!isBytes(p) || p.length !== SHA256_LENGTH) return false;
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = merkleNodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = merkleNodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && bytesEqual(r, root);
  } catch {
    return false;
  }
}
