import type { CheckedTx, ExecContext } from './tx-exec.js';

interface Entry {
  /** A copy of the bytes the checks ran on. */
  readonly bytes: Buffer;
  readonly chainId: string;
  readonly maxTxBytes: number;
  readonly minFee: bigint;
  readonly maxGas: number;
  readonly verify: ExecContext['verify'];
  readonly checked: CheckedTx;
}

/**
 * The passing results of the stateless checks (decoding, sender address, gas,
 * fee floor, signature), by the bytes object they ran on. The mempool passes
 * the same object to checkTx at every recheck after a commit, and the proposer
 * builds and executes its block from those objects, so those checks need only
 * redo the part that reads state.
 *
 * The object is only a lookup key: a hit also compares the bytes with a copy
 * taken at the first check, and the parameters those checks read (chain id,
 * size limit, minimum fee, block gas limit, the verifier), so a caller that
 * changed the bytes afterwards, or a parameter change, gets the checks run
 * again, never a stale answer. Entries go with their bytes (a WeakMap), so the
 * cache holds at most what the mempool and the blocks in flight hold.
 */
export class StatelessCache {
  readonly #byBytes = new WeakMap<Uint8Array, Entry>();

  get(bytes: Uint8Array, ctx: ExecContext): CheckedTx | undefined {
    const e = this.#byBytes.get(bytes);
    if (e === undefined) return undefined;
    if (
      e.chainId !== ctx.app.chainId ||
      e.maxTxBytes !== ctx.app.maxTxBytes ||
      e.minFee !== ctx.app.minFee ||
      e.maxGas !== ctx.params.block.maxGas ||
      e.verify !== ctx.verify ||
      !e.bytes.equals(bytes)
    ) {
      this.#byBytes.delete(bytes);
      return undefined;
    }
    return e.checked;
  }

  set(bytes: Uint8Array, ctx: ExecContext, checked: CheckedTx): void {
    this.#byBytes.set(bytes, {
      bytes: Buffer.from(bytes),
      chainId: ctx.app.chainId,
      maxTxBytes: ctx.app.maxTxBytes,
      minFee: ctx.app.minFee,
      maxGas: ctx.params.block.maxGas,
      verify: ctx.verify,
      checked,
    });
  }
}
