import type { Clock, Logger, Metrics } from '@synod/types';
import { LIMITS, noopLogger, noopMetrics, SynodError } from '@synod/types';

/** Configuration of a `Mempool`. Every field is optional; see `MEMPOOL_DEFAULTS`. */
export interface MempoolOptions {
  /** Most pending transactions. @default 5000 */
  readonly maxTxs?: number;
  /** Most total bytes of pending transactions. @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
  /** Largest single transaction, in bytes (at most `maxBytes`). @default 1048576 (LIMITS.txBytesMax) */
  readonly maxTxBytes?: number;
  /** Capacity of the seen-cache (LRU of tx hashes). @default 10000 */
  readonly cacheSize?: number;
  /** Keep hashes of txs that failed checkTx in the seen-cache (so they are never checked again). @default false */
  readonly keepInvalidTxsInCache?: boolean;
  /** Drop a pending tx once this many blocks were committed since it was accepted; 0 disables. @default 1000 */
  readonly ttlBlocks?: number;
  /** Drop a pending tx once it is this old (by `clock`); 0 disables; needs `clock`. @default 0 */
  readonly ttlMs?: number;
  /** Re-check the remaining txs with checkTx('recheck') after each commit (update() can override). @default true */
  readonly recheck?: boolean;
  /** Height of the last committed block when the pool starts. @default 0 */
  readonly height?: number;
  /** Time source for `ttlMs` (only `now()` is used). @default undefined */
  readonly clock?: Pick<Clock, 'now'>;
  /** @default noopLogger */
  readonly logger?: Logger;
  /** @default noopMetrics */
  readonly metrics?: Metrics;
}

export const MEMPOOL_DEFAULTS = Object.freeze({
  maxTxs: 5000,
  maxBytes: 64 * 1024 * 1024,
  maxTxBytes: LIMITS.txBytesMax,
  cacheSize: 10_000,
  keepInvalidTxsInCache: false,
  ttlBlocks: 1000,
  ttlMs: 0,
  recheck: true,
  height: 0,
});

export interface ResolvedOptions {
  readonly maxTxs: number;
  readonly maxBytes: number;
  readonly maxTxBytes: number;
  readonly cacheSize: number;
  readonly keepInvalidTxsInCache: boolean;
  readonly ttlBlocks: number;
  readonly ttlMs: number;
  readonly recheck: boolean;
  readonly height: number;
  readonly clock: Pick<Clock, 'now'> | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

function integer(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SynodError('CONFIG_INVALID', `mempool.${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/** Applies defaults and validates; throws SynodError('CONFIG_INVALID') on a bad value. */
export function resolveOptions(o: MempoolOptions = {}): ResolvedOptions {
  const d = MEMPOOL_DEFAULTS;
  const maxBytes = integer('maxBytes', o.maxBytes ?? d.maxBytes, 1);
  const maxTxBytes = integer('maxTxBytes', o.maxTxBytes ?? Math.min(d.maxTxBytes, maxBytes), 1);
  if (maxTxBytes > maxBytes) {
    throw new SynodError(
      'CONFIG_INVALID',
      `mempool.maxTxBytes (${maxTxBytes}) exceeds mempool.maxBytes (${maxBytes})`,
    );
  }
  const ttlMs = integer('ttlMs', o.ttlMs ?? d.ttlMs, 0);
  if (ttlMs > 0 && o.clock === undefined) {
    throw new SynodError('CONFIG_INVALID', 'mempool.ttlMs needs a clock');
  }
  return {
    maxTxs: integer('maxTxs', o.maxTxs ?? d.maxTxs, 1),
    maxBytes,
    maxTxBytes,
    cacheSize: integer('cacheSize', o.cacheSize ?? d.cacheSize, 1),
    keepInvalidTxsInCache: o.keepInvalidTxsInCache ?? d.keepInvalidTxsInCache,
    ttlBlocks: integer('ttlBlocks', o.ttlBlocks ?? d.ttlBlocks, 0),
    ttlMs,
    recheck: o.recheck ?? d.recheck,
    height: integer('height', o.height ?? d.height, 0),
    clock: o.clock,
    logger: o.logger ?? noopLogger,
    metrics: o.metrics ?? noopMetrics,
  };
}
