import type { Clock } from '@synod/types';
import { encodeTxBatch, TX_BATCH_HEADER_BYTES, TX_BATCH_ITEM_OVERHEAD_BYTES } from './codec/tx-batch.js';

/** How a node groups the transactions it publishes into batch messages. */
export interface TxBatchingOptions {
  /**
   * How long the first transaction of a batch waits for others before the
   * batch is published, in ms (0: at the end of the current event-loop turn).
   * A batch also goes out as soon as it is full (`maxTxs` or `maxBytes`).
   * @default 20
   */
  readonly windowMs: number;
  /**
   * Most transactions per batch (at most the limits' txBatchTxsMax). A
   * receiver validates a batch in one go (one slice of its gossip
   * scheduler), so this also bounds how long a consensus message can wait
   * behind one batch: 64 signatures are a few ms. @default 64
   */
  readonly maxTxs: number;
  /** Most bytes per batch message, framing included (at most the limits' txBatchBytesMax). @default 64 KiB */
  readonly maxBytes: number;
}

export const DEFAULT_TX_BATCHING: TxBatchingOptions = Object.freeze({
  windowMs: 20,
  maxTxs: 64,
  maxBytes: 64 * 1024,
});

/**
 * Collects transactions and hands them to `publish` as encoded batches: when
 * a batch is full, when the window since its first transaction has passed,
 * or on `flush()`. Holds at most one batch (a full one is published at once),
 * so what waits is bounded by `maxTxs` and `maxBytes`.
 */
export class TxBatcher {
  private pending: Uint8Array[] = [];
  private pendingBytes = TX_BATCH_HEADER_BYTES;
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly options: TxBatchingOptions,
    private readonly clock: Clock,
    /** Publishes one encoded batch of `count` transactions (errors are the caller's to log). */
    private readonly publish: (batch: Uint8Array, count: number) => void,
  ) {
    if (!(options.maxTxs >= 1) || !(options.maxBytes > TX_BATCH_HEADER_BYTES))
      throw new RangeError('TxBatcher: maxTxs must be >= 1 and maxBytes above the header');
  }

  /** Transactions waiting for their batch. */
  get size(): number {
    return this.pending.length;
  }

  /** Adds one transaction (its size was checked by the caller: it fits an empty batch). */
  add(tx: Uint8Array): void {
    const cost = TX_BATCH_ITEM_OVERHEAD_BYTES + tx.length;
    // it does not fit what is waiting: that batch goes first
    if (this.pending.length > 0 && this.pendingBytes + cost > this.options.maxBytes) this.flush();
    this.pending.push(tx);
    this.pendingBytes += cost;
    if (this.pending.length >= this.options.maxTxs || this.pendingBytes >= this.options.maxBytes) {
      this.flush();
      return;
    }
    if (this.cancelTimer === undefined)
      this.cancelTimer = this.clock.setTimer(this.options.windowMs, () => {
        this.cancelTimer = undefined;
        this.flush();
      });
  }

  /** Publishes what is waiting now (nothing when empty); returns how many transactions went. */
  flush(): number {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const txs = this.pending;
    if (txs.length === 0) return 0;
    this.pending = [];
    this.pendingBytes = TX_BATCH_HEADER_BYTES;
    this.publish(encodeTxBatch(txs), txs.length);
    return txs.length;
  }

  /** Drops what is waiting and the timer (the network stops). */
  clear(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.pending = [];
    this.pendingBytes = TX_BATCH_HEADER_BYTES;
  }
}
