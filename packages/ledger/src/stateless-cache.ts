import { keyString } from './bytes.js';
import type { CheckedTx, ExecContext } from './tx-exec.js';

/** What an entry is counted as: its key (the bytes, one char each), the decoded copy, and the objects around them. */
const entryCost = (size: number): number => 2 * size + ENTRY_OVERHEAD_BYTES;
const ENTRY_OVERHEAD_BYTES = 1024;

interface Entry {
  readonly cost: number;
  readonly chainId: string;
  readonly maxTxBytes: number;
  readonly minFee: bigint;
  readonly maxGas: number;
  readonly verify: ExecContext['verify'];
  readonly checked: CheckedTx;
}

/** Whether an entry was made under the parameters `ctx` has now. */
const usable = (e: Entry, ctx: ExecContext): boolean =>
  e.chainId === ctx.app.chainId &&
  e.maxTxBytes === ctx.app.maxTxBytes &&
  e.minFee === ctx.app.minFee &&
  e.maxGas === ctx.params.block.maxGas &&
  e.verify === ctx.verify;

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
 * checks again, never answers stale. Bounded in entries and in bytes (an
 * entry counts twice its transaction's size, for the key and the decoded
 * copy, plus 1 KB), so transactions of the largest size cannot make it hold
 * more than `maxBytes`; the least recently used entry goes first.
 */
export class StatelessCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxBytes: number = 16 * 1024 * 1024,
  ) {}

  /** The bytes the entries count for (see the class comment). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The stateless result of `bytes`: from the cache when it passed before
   * under the same parameters, else `run()`'s, remembered when it passes.
   */
  check<R extends { readonly ok: boolean; readonly checked?: CheckedTx }>(
    bytes: Uint8Array,
    ctx: ExecContext,
    run: () => R,
  ): R | { readonly ok: true; readonly checked: CheckedTx } {
    if (this.capacity <= 0) return run();
    const key = keyString(bytes);
    const hit = this.#lookup(key, ctx);
    if (hit !== undefined) return { ok: true, checked: hit };
    const result = run();
    if (result.ok && result.checked !== undefined) this.#remember(key, bytes.length, ctx, result.checked);
    return result;
  }

  /** True when `bytes` has an entry usable under `ctx` (tests). */
  has(bytes: Uint8Array, ctx: ExecContext): boolean {
    const e = this.#entries.get(keyString(bytes));
    return e !== undefined && usable(e, ctx);
  }

  #lookup(key: string, ctx: ExecContext): CheckedTx | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#drop(key, e);
    if (!usable(e, ctx)) return undefined;
    this.#add(key, e); // most recently used
    return e.checked;
  }

  #remember(key: string, size: number, ctx: ExecContext, checked: CheckedTx): void {
    const cost = entryCost(size);
    if (cost > this.maxBytes) return;
    while (this.#entries.size >= this.capacity || this.#bytes + cost > this.maxBytes) {
      const oldest = this.#entries.entries().next();
      if (oldest.done === true) break;
      this.#drop(oldest.value[0], oldest.value[1]);
    }
    this.#add(key, {
      cost,
      chainId: ctx.app.chainId,
      maxTxBytes: ctx.app.maxTxBytes,
      minFee: ctx.app.minFee,
      maxGas: ctx.params.block.maxGas,
      verify: ctx.verify,
      checked,
    });
  }

  #add(key: string, e: Entry): void {
    this.#entries.set(key, e);
    this.#bytes += e.cost;
  }

  #drop(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= e.cost;
  }
}
