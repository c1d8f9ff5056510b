import { sha256, sha256Concat } from '@synod/crypto';
import { equalBytes } from './bytes.js';

/**
 * The app hash: the root of a compact binary sparse Merkle tree over the whole
 * state. Each (key, value) is a leaf at path SHA-256(key):
 *
 *     leaf   = SHA-256(0x00 ‖ path ‖ SHA-256(value))
 *     branch = SHA-256(0x01 ‖ left ‖ right)      (an empty side is 32 zero bytes)
 *
 * "Compact": a subtree holding exactly one leaf is that leaf (no chain of
 * single-child branches down to depth 256), a subtree with two or more leaves
 * is a branch, an empty one is 32 zero bytes. This shape depends only on the
 * set of keys, never on the order of inserts and deletes, so every node gets
 * the same root for the same state. An update rehashes only the path from its
 * leaf to the root (about log2(n) + 1 hashes; the hashes of a block's changes
 * share their upper levels because branches are rehashed lazily, once, when
 * the root is asked for).
 */

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** The hash of an empty tree (and of an empty side of a branch). */
export const EMPTY_TREE_ROOT: Uint8Array = new Uint8Array(32);

interface Leaf {
  readonly leaf: true;
  readonly path: Uint8Array;
  readonly hash: Uint8Array;
}

interface Branch {
  readonly leaf: false;
  left: TreeNode | undefined;
  right: TreeNode | undefined;
  /** undefined while dirty. */
  hash: Uint8Array | undefined;
}

type TreeNode = Leaf | Branch;

function bitAt(path: Uint8Array, depth: number): number {
  return ((path[depth >> 3] as number) >> (7 - (depth & 7))) & 1;
}

/** The leaf hash of a (path, value) pair. */
export function smtLeafHash(path: Uint8Array, value: Uint8Array): Uint8Array {
  return sha256Concat(LEAF_PREFIX, path, sha256(value));
}

/** The hash of a branch from the hashes of its two sides. */
export function smtBranchHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Concat(NODE_PREFIX, left, right);
}

function branch(left: TreeNode | undefined, right: TreeNode | undefined): Branch {
  return { leaf: false, left, right, hash: undefined };
}

/** The smallest subtree holding two leaves with different paths, from `depth` down. */
function split(a: Leaf, b: Leaf, depth: number): Branch {
  const ba = bitAt(a.path, depth);
  const bb = bitAt(b.path, depth);
  if (ba === bb) {
    const child = split(a, b, depth + 1);
    return ba === 0 ? branch(child, undefined) : branch(undefined, child);
  }
  return ba === 0 ? branch(a, b) : branch(b, a);
}

function insert(node: TreeNode | undefined, leaf: Leaf, depth: number): TreeNode {
  if (node === undefined) return leaf;
  if (node.leaf) return equalBytes(node.path, leaf.path) ? leaf : split(node, leaf, depth);
  if (bitAt(leaf.path, depth) === 0) node.left = insert(node.left, leaf, depth + 1);
  else node.right = insert(node.right, leaf, depth + 1);
  node.hash = undefined;
  return node;
}

function remove(node: TreeNode | undefined, path: Uint8Array, depth: number): TreeNode | undefined {
  if (node === undefined) return undefined;
  if (node.leaf) return equalBytes(node.path, path) ? undefined : node;
  if (bitAt(path, depth) === 0) node.left = remove(node.left, path, depth + 1);
  else node.right = remove(node.right, path, depth + 1);
  // Keep the compact shape: a subtree left with a single leaf becomes that leaf.
  if (node.left === undefined && (node.right === undefined || node.right.leaf)) return node.right;
  if (node.right === undefined && node.left !== undefined && node.left.leaf) return node.left;
  node.hash = undefined;
  return node;
}

function hashOf(node: TreeNode | undefined): Uint8Array {
  if (node === undefined) return EMPTY_TREE_ROOT;
  if (node.leaf) return node.hash;
  if (node.hash === undefined) node.hash = smtBranchHash(hashOf(node.left), hashOf(node.right));
  return node.hash;
}

/** An in-memory compact sparse Merkle tree of (key, value) byte pairs. */
export class SparseMerkleTree {
  private root: TreeNode | undefined = undefined;

  /** Inserts or replaces the leaf of `key`. */
  set(key: Uint8Array, value: Uint8Array): void {
    const path = sha256(key);
    this.root = insert(this.root, { leaf: true, path, hash: smtLeafHash(path, value) }, 0);
  }

  /** Removes the leaf of `key` (no-op when absent). */
  delete(key: Uint8Array): void {
    this.root = remove(this.root, sha256(key), 0);
  }

  /** The root hash (rehashes the branches changed since the last call). */
  rootHash(): Uint8Array {
    return hashOf(this.root);
  }
}

/**
 * The root of the same tree computed from scratch, by definition (for tests
 * and audits): O(n log n), no state.
 */
export function smtRootOf(entries: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  const leaves = entries.map(([k, v]) => {
    const path = sha256(k);
    return { path, hash: smtLeafHash(path, v) };
  });
  const build = (set: readonly { path: Uint8Array; hash: Uint8Array }[], depth: number): Uint8Array => {
    if (set.length === 0) return EMPTY_TREE_ROOT;
    if (set.length === 1) return (set[0] as { hash: Uint8Array }).hash;
    const left = set.filter((l) => bitAt(l.path, depth) === 0);
    const right = set.filter((l) => bitAt(l.path, depth) === 1);
    return smtBranchHash(build(left, depth + 1), build(right, depth + 1));
  };
  return build(leaves, 0);
}
