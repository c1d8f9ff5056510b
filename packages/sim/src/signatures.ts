import { hash } from 'node:crypto';
import { bytesEqual, sign as ed25519Sign, verify as ed25519Verify } from '@synod/crypto';

/** The engine's `verifySignature` shape. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * How validators sign in a simulation:
 * - 'ed25519' (default): real Ed25519 (@synod/crypto), honest validators
 *   through the production guarded signer (@synod/storage's createSigner);
 * - 'fast': a keyed-hash stand-in (SHA-512 of key seed ‖ message, 64 bytes)
 *   for sweeps and benchmarks, with a simulator signer that applies the same
 *   double-sign guard (`checkSignRequest`) and persists its state the same way.
 */
export type SignatureScheme = 'ed25519' | 'fast';

interface Entry {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly ok: boolean;
}

const latin1 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/**
 * Signing and verification for one simulation, shared by all its nodes.
 *
 * Every node lives in one process, so a signature is checked once, not once
 * per receiver: answers are cached by the exact (public key, message,
 * signature) triple (looked up by signature, then compared byte for byte).
 * A signature this process produced with a validator's key (`sign`) is
 * entered as valid without verifying it: signing is deterministic, so it is
 * valid by construction. Anything else (a Byzantine node's garbage, a
 * bit-flipped message, a signature reused on other bytes) misses the cache
 * and is verified for real. A Byzantine node holds only its own key seed,
 * so it cannot produce an entry for an honest validator's key — in either
 * scheme: the fast stand-in is a keyed hash whose key is the validator's
 * secret seed, which only the verifier (this oracle) and the signer know.
 */
export class SignatureOracle {
  readonly scheme: SignatureScheme;
  readonly #cache = new Map<string, Entry | Entry[]>();
  /** fast scheme: public key (latin1) → secret seed. */
  readonly #seeds = new Map<string, Uint8Array>();
  /** Signatures checked for real (cache misses). */
  verified = 0;
  hits = 0;

  constructor(scheme: SignatureScheme = 'ed25519') {
    this.scheme = scheme;
  }

  /** Registers a validator key (the fast scheme's verifier needs its seed). */
  register(publicKey: Uint8Array, seed: Uint8Array): void {
    this.#seeds.set(latin1(publicKey), seed);
  }

  /** Signs `message` with `seed` (whose public key is `publicKey`) and records the signature as valid. */
  sign(seed: Uint8Array, publicKey: Uint8Array, message: Uint8Array): Uint8Array {
    const signature = this.scheme === 'fast' ? fastSign(seed, message) : ed25519Sign(seed, message);
    this.recordSigned(publicKey, message, signature);
    return signature;
  }

  /** The signer of `publicKey` produced `signature` over `message` (with the real key). */
  recordSigned(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
    this.#put(signature, { publicKey, message, ok: true });
  }

  readonly verify: VerifyFn = (publicKey, message, signature) => {
    if (!(signature instanceof Uint8Array)) return false;
    const known = this.#get(signature, publicKey, message);
    if (known !== undefined) {
      this.hits++;
      return known;
    }
    this.verified++;
    const ok = this.#verifyNow(publicKey, message, signature);
    this.#put(signature, { publicKey: publicKey.slice(), message: message.slice(), ok });
    return ok;
  };

  #verifyNow(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (this.scheme === 'ed25519') return ed25519Verify(publicKey, message, signature);
    const seed = this.#seeds.get(latin1(publicKey));
    return seed !== undefined && signature.length === 64 && bytesEqual(fastSign(seed, message), signature);
  }

  #get(signature: Uint8Array, publicKey: Uint8Array, message: Uint8Array): boolean | undefined {
    const e = this.#cache.get(latin1(signature));
    if (e === undefined) return undefined;
    for (const x of Array.isArray(e) ? e : [e]) {
      if (bytesEqual(x.publicKey, publicKey) && bytesEqual(x.message, message)) return x.ok;
    }
    return undefined;
  }

  #put(signature: Uint8Array, entry: Entry): void {
    const key = latin1(signature);
    const e = this.#cache.get(key);
    if (e === undefined) this.#cache.set(key, entry);
    else if (Array.isArray(e)) e.push(entry);
    else this.#cache.set(key, [e, entry]);
  }

  get size(): number {
    return this.#cache.size;
  }
}

/** The fast scheme's signature: SHA-512(seed ‖ message). */
export function fastSign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const input = new Uint8Array(seed.length + message.length);
  input.set(seed);
  input.set(message, seed.length);
  return new Uint8Array(hash('sha512', input, 'buffer'));
}
