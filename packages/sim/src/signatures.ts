import { verify } from '@synod/crypto';

/** The engine's `verifySignature` shape. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] as number];
  return s;
}

/**
 * Real Ed25519 signatures, verified once per process.
 *
 * Every node of a simulation lives in one process, so a signature needs to be
 * checked once, not once per receiver: answers are cached by the exact
 * (public key, message, signature) triple. A signature this process produced
 * itself with the signer's real key (`recordSigned`) is entered as valid
 * without verifying it: Ed25519 signing is deterministic, so it is valid by
 * construction. Anything else (a Byzantine node's garbage, a bit-flipped
 * message, a signature reused on other bytes) misses the cache and goes to
 * @synod/crypto's `verify`. A Byzantine node holds only its own seed, so it
 * cannot produce an entry for an honest validator's key.
 */
export class SignatureOracle {
  readonly #cache = new Map<string, boolean>();
  verified = 0;
  hits = 0;

  /** The signer of `publicKey` produced `signature` over `message` (with the real key). */
  recordSigned(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
    this.#cache.set(key(publicKey, message, signature), true);
  }

  readonly verify: VerifyFn = (publicKey, message, signature) => {
    const k = key(publicKey, message, signature);
    const known = this.#cache.get(k);
    if (known !== undefined) {
      this.hits++;
      return known;
    }
    this.verified++;
    const ok = verify(publicKey, message, signature);
    this.#cache.set(k, ok);
    return ok;
  };

  get size(): number {
    return this.#cache.size;
  }
}

function key(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return `${hex(signature)}${hex(publicKey)}${hex(message)}`;
}
