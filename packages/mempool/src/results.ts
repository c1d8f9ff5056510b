/** Public value types of the mempool API. */

/** Codes the mempool itself rejects with (checkTx's own codes pass through unchanged). */
export type MempoolRejectCode =
  | 'DUPLICATE'
  | 'TX_TOO_LARGE'
  | 'MEMPOOL_FULL'
  | 'NONCE_CONFLICT'
  | 'TX_INVALID';

export interface AddOptions {
  /** Opaque origin (e.g. 'rpc', or a peer id), passed to `onTxAdded` listeners. */
  readonly source?: string;
}

export type AddResult =
  | {
      readonly accepted: true;
      readonly code: 'OK';
      readonly reason: '';
      readonly hash: Uint8Array;
      /** Hashes of the lower-priority txs evicted to make room. */
      readonly evicted: readonly Uint8Array[];
      /** Hash of the same-sender, same-nonce tx this one replaced (higher priority wins). */
      readonly replaced: Uint8Array | undefined;
    }
  | {
      readonly accepted: false;
      /** A `MempoolRejectCode`, or checkTx's code. */
      readonly code: string;
      /** Human-readable reason (checkTx's log for its own rejections). */
      readonly reason: string;
      /** undefined when the tx was rejected before hashing (TX_TOO_LARGE). */
      readonly hash: Uint8Array | undefined;
    };

/** A pending transaction as listed by `contents()` and passed to `onTxAdded` listeners. */
export interface MempoolTx {
  readonly tx: Uint8Array;
  readonly hash: Uint8Array;
  readonly sender: Uint8Array | undefined;
  readonly nonce: number | undefined;
  readonly priority: bigint;
  /** min(priority, effective priority of the sender's previous pending nonce). */
  readonly effectivePriority: bigint;
  readonly gasWanted: number;
  /** The pool's height when the tx was accepted. */
  readonly height: number;
  /** Clock time when accepted (0 without a clock). */
  readonly timeMs: number;
}

export interface TxAddedEvent extends MempoolTx {
  readonly source: string | undefined;
}

export interface ReapLimits {
  /** Most total bytes (tx bytes + `txOverheadBytes` each). @default Infinity */
  readonly maxBytes?: number;
  /** Most total gasWanted. @default Infinity */
  readonly maxGas?: number;
  /** Most transactions. @default Infinity */
  readonly maxTxs?: number;
  /** Bytes counted per tx on top of its length (e.g. 4 for an SSZ offset). @default 0 */
  readonly txOverheadBytes?: number;
}

export interface UpdateOptions {
  /** Overrides the pool's `recheck` option for this update. */
  readonly recheck?: boolean;
}

export interface UpdateResult {
  /** Pending txs removed because the block committed them. */
  readonly committed: number;
  /** Pending txs removed because the block committed a higher nonce of the same sender. */
  readonly superseded: number;
  /** Pending txs removed by age (with their same-sender higher nonces). */
  readonly expired: number;
  /** Txs checkTx('recheck') was called for. */
  readonly rechecked: number;
  /** Pending txs removed because recheck failed (with their same-sender higher nonces). */
  readonly invalid: number;
}
