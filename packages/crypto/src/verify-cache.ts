import { isBytes } from './bytes.js';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, verify } from './ed25519.js';
import { sha256Concat } from './hash.js';
import { LruCache } from './lru.js';
import type { VerifyItem, VerifyManyOptions, VerifyPool } from './verify-pool.js';

/** An Ed25519 check with `verify`'s signature and answers. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** A verifier that remembers the signatures it accepted (see `createVerifyCache`). */
export interface VerifyCache {
  /** `verify`'s answer: from memory when this (key, message, signature) verified before. */
  readonly verify: VerifyFn;
  /**
   * `verify`'s answer for each item, in order, from memory where it can be;
   * the rest are verified by the pool (`options.pool`, off the event loop)
   * or, without one, by `verify`. Accepted ones are remembered, so a later
   * `verify` of the same signature is a hit. With `stopAtFirstFailure`,
   * what is left after a rejection is answered false unchecked (see
   * VerifyManyOptions). Never rejects.
   */
  verifyMany(items: readonly VerifyItem[], options?: VerifyManyOptions): Promise<boolean[]>;
  /** Checks answered from memory and by a real verification since creation. */
  stats(): { readonly hits: number; readonly misses: number; readonly size: number };
}

/** Signatures a node remembers by default: a few heights of votes of a large set, and gossip in flight. */
export const VERIFY_CACHE_CAPACITY = 65_536;

/**
 * One verifier with a memory of the signatures it accepted, so a message
 * checked at the gossip layer is not checked again by consensus (a vote is
 * verified once per node, not once per layer). The key is SHA-256 of the
 * public key, the message and the signature (about 1 µs for sign bytes,
 * against 50 µs or more for an Ed25519 verification), so a hit is exactly the
 * same check. Only accepted signatures are remembered — a flood of bad ones
 * cannot evict good ones, and evicts nothing — and the memory is bounded
 * (least recently used first out, `capacity` entries of 32 bytes).
 * Verification is a pure function: the cache cannot change an answer.
 */
export function createVerifyCache(
  options: {
    readonly capacity?: number;
    readonly verify?: VerifyFn;
    /** Where `verifyMany` sends what it does not remember (the pool runs `verify`'s rule, not `options.verify`). */
    readonly pool?: VerifyPool;
  } = {},
): VerifyCache {
  const inner = options.verify ?? verify;
  const seen = new LruCache<string, true>(options.capacity ?? VERIFY_CACHE_CAPACITY);
  let hits = 0;
  let misses = 0;
  const { pool } = options;
  // Fixed lengths make the concatenation unambiguous; anything else is verify's to reject.
  const keyOf = (publicKey: unknown, message: unknown, signature: unknown): string | undefined =>
    !isBytes(publicKey) ||
    !isBytes(message) ||
    !isBytes(signature) ||
    publicKey.length !== PUBLIC_KEY_LENGTH ||
    signature.length !== SIGNATURE_LENGTH
      ? undefined
      : Buffer.from(sha256Concat(publicKey, signature, message)).toString('latin1');
  return {
    verify(publicKey, message, signature) {
      const key = keyOf(publicKey, message, signature);
      if (key === undefined) return inner(publicKey, message, signature);
      if (seen.get(key) === true) {
        hits++;
        return true;
      }
      misses++;
      const ok = inner(publicKey, message, signature);
      if (ok) seen.set(key, true);
      return ok;
    },
    async verifyMany(items, options = {}) {
      const stop = options.stopAtFirstFailure === true;
      const answers = new Array<boolean>(items.length).fill(false);
      const todo: VerifyItem[] = [];
      const where: number[] = [];
      const keys: string[] = [];
      for (let i = 0; i < items.length; i++) {
        const it = items[i] as VerifyItem;
        const key = keyOf(it.publicKey, it.message, it.signature);
        if (key === undefined) {
          answers[i] = inner(it.publicKey, it.message, it.signature);
          if (stop && !answers[i]) return answers;
        } else if (seen.get(key) === true) {
          hits++;
          answers[i] = true;
        } else {
          todo.push(it);
          where.push(i);
          keys.push(key);
        }
      }
      if (todo.length === 0) return answers;
      misses += todo.length;
      let got: boolean[];
      if (pool !== undefined) got = await pool.verifyMany(todo, options);
      else {
        got = [];
        for (const it of todo) {
          const ok = inner(it.publicKey, it.message, it.signature);
          got.push(ok);
          if (stop && !ok) break;
        }
      }
      for (let j = 0; j < todo.length; j++) {
        if (got[j] !== true) continue;
        answers[where[j] as number] = true;
        seen.set(keys[j] as string, true);
      }
      return answers;
    },
    stats: () => ({ hits, misses, size: seen.size }),
  };
}
