/**
 * Transactions this RPC submitted and has not yet seen in a block: what
 * `unconfirmed_txs` can list while @synod/node offers no view of its
 * mempool (`RpcNode.unconfirmedTxs`). Bounded (oldest dropped first), and
 * emptied when the node reports an empty mempool.
 */
import { toHex } from '@synod/crypto';

export const PENDING_TXS_MAX = 10_000;

export class PendingTxs {
  readonly #txs = new Map<string, Uint8Array>();
  #bytes = 0;

  add(hash: Uint8Array, tx: Uint8Array): void {
    const key = toHex(hash);
    if (this.#txs.has(key)) return;
    this.#txs.set(key, tx);
    this.#bytes += tx.length;
    while (this.#txs.size > PENDING_TXS_MAX) {
      const [oldest, bytes] = this.#txs.entries().next().value as [string, Uint8Array];
      this.#txs.delete(oldest);
      this.#bytes -= bytes.length;
    }
  }

  remove(hash: Uint8Array): void {
    const key = toHex(hash);
    const tx = this.#txs.get(key);
    if (tx === undefined) return;
    this.#txs.delete(key);
    this.#bytes -= tx.length;
  }

  clear(): void {
    this.#txs.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#txs.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The oldest `limit` transactions. */
  list(limit: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const tx of this.#txs.values()) {
      if (out.length >= limit) break;
      out.push(tx);
    }
    return out;
  }
}
