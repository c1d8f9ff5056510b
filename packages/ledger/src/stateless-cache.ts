import { keyString } from './bytes.js';
import type { CheckedTx, ExecContext } from './tx-exec.js';

interface Entry {
  readonly chainId: string;
  readonly maxTxBytes: number;
  readonly minFee: bigint;
  readonly maxGas: number;
  readonly verify: ExecContext['verify'];
  readonly checked: CheckedTx;
}

/**
 * The passing results of the stateless checks (decoding, sender address, gas,
 * fee floor, signature), keyed by the transaction's bytes themselves, so a
 * transaction is decoded and checked once per node however often it comes
 * back: the mempool's recheck after every commit, the proposer's
 * prepareProposal, a proposed block's processProposal (whose bytes a
 * non-proposer decoded off the wire: another object, the same content) and
 * finalizeBlock.
 *
 * A hit also compares the parameters those checks read (chain id, size limit,
 * minimum fee, block gas limit, the verifier), so a parameter change runs the
 * checks again, never answers stale. Bounded: the least recently used entry
 * goes first. Each entry holds the transaction's bytes (as a string key) and
 * its decoded form, about 1 KB for a transfer.
 */
export class StatelessCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.#entries.size;
  }

  get(bytes: Uint8Array, ctx: ExecContext): CheckedTx | undefined {
    if (this.capacity <= 0) return undefined;
    const key = keyString(bytes);
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (
      e.chainId !== ctx.app.chainId ||
      e.maxTxBytes !== ctx.app.maxTxBytes ||
      e.minFee !== ctx.app.minFee ||
      e.maxGas !== ctx.params.block.maxGas ||
      e.verify !== ctx.verify
    )
      return undefined;
    this.#entries.set(key, e); // most recently used
    return e.checked;
  }

  set(bytes: Uint8Array, ctx: ExecContext, checked: CheckedTx): void {
    if (this.capacity <= 0) return;
    const key = keyString(bytes);
    this.#entries.delete(key);
    while (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, {
      chainId: ctx.app.chainId,
      maxTxBytes: ctx.app.maxTxBytes,
      minFee: ctx.app.minFee,
      maxGas: ctx.params.block.maxGas,
      verify: ctx.verify,
      checked,
    });
  }
}
