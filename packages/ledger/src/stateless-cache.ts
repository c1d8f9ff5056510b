import { keyString } from './bytes.js';
import type { CheckedTx, ExecContext } from './tx-exec.js';

/** What an entry is counted as: its key (the bytes, one char each), the decoded copy, and the objects around them. */
const entryCost = (bytes: Uint8Array): number => 2 * bytes.length + ENTRY_OVERHEAD_BYTES;
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

  get(bytes: Uint8Array, ctx: ExecContext): CheckedTx | undefined {
    if (this.capacity <= 0) return undefined;
    const key = keyString(bytes);
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#drop(key, e);
    if (
      e.chainId !== ctx.app.chainId ||
      e.maxTxBytes !== ctx.app.maxTxBytes ||
      e.minFee !== ctx.app.minFee ||
      e.maxGas !== ctx.params.block.maxGas ||
      e.verify !== ctx.verify
    )
      return undefined;
    this.#add(key, e); // most recently used
    return e.checked;
  }

  set(bytes: Uint8Array, ctx: ExecContext, checked: CheckedTx): void {
    const cost = entryCost(bytes);
    if (this.capacity <= 0 || cost > this.maxBytes) return;
    const key = keyString(bytes);
    const old = this.#entries.get(key);
    if (old !== undefined) this.#drop(key, old);
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
