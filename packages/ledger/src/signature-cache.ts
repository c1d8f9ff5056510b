import { sha256 } from '@synod/crypto';
import { keyString } from './bytes.js';

/**
 * Remembers transactions whose signature verified, keyed by SHA-256 of the
 * encoded transaction (which fixes public key, sign bytes and signature), so a
 * transaction is verified once across checkTx, processProposal and
 * finalizeBlock. Verification is a pure function, so the cache cannot change
 * any result; it is bounded (oldest entries evicted first).
 */
export class SignatureCache {
  private readonly ok = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** `verify()`'s answer for `txBytes`, from the cache when it said yes before. */
  check(txBytes: Uint8Array, verify: () => boolean): boolean {
    if (this.capacity <= 0) return verify();
    const k = keyString(sha256(txBytes));
    if (this.ok.has(k)) return true;
    const valid = verify();
    if (valid) {
      if (this.ok.size >= this.capacity) {
        const oldest = this.ok.values().next();
        if (oldest.done !== true) this.ok.delete(oldest.value);
      }
      this.ok.add(k);
    }
    return valid;
  }
}
