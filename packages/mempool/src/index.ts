/**
 * @synod/mempool: a bounded, prioritised, deduplicated transaction pool that
 * validates through the application's checkTx. This module is the package's
 * only public surface.
 */

export { Mempool, type MempoolApp, type TxHashInput } from './mempool.js';
export { MEMPOOL_DEFAULTS, type MempoolOptions } from './options.js';
export type {
  AddOptions,
  AddResult,
  MempoolRejectCode,
  MempoolTx,
  ReapLimits,
  TxAddedEvent,
  UpdateOptions,
  UpdateResult,
} from './results.js';
