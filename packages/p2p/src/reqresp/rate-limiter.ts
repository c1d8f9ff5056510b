import type { Clock } from '@synod/types';
import type { ReqRespProtocol } from '../topics.js';

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimit {
  /** Requests per second, sustained. */
  readonly perSecond: number;
  /** Requests accepted at once after a quiet period (the bucket's size). */
  readonly burst: number;
}

/** What one peer may ask of this node, per request/response protocol. */
export type ServeRateLimits = Readonly<Record<ReqRespProtocol, RateLimit>>;

/**
 * Defaults: far above what an honest peer asks (sync asks one block range at
 * a time, pex runs on connect and every 30 s, a stalled node asks a peer what
 * it holds about once per round), far below what a flooder would.
 */
export const DEFAULT_SERVE_RATE_LIMITS: ServeRateLimits = Object.freeze({
  status: Object.freeze({ perSecond: 10, burst: 20 }),
  'block-by-hash': Object.freeze({ perSecond: 20, burst: 100 }),
  'block-range': Object.freeze({ perSecond: 10, burst: 40 }),
  pex: Object.freeze({ perSecond: 1, burst: 5 }),
  consensus: Object.freeze({ perSecond: 2, burst: 10 }),
});

/** Most (peer, protocol) buckets remembered; full (idle) buckets are forgotten first. */
export const RATE_LIMIT_BUCKETS_MAX = 4_096;

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * One token bucket per (peer, protocol), on the network's clock. `take`
 * answers whether a request may be served now and spends a token if so.
 * Memory is bounded: at most `bucketsMax` buckets; a full bucket is the same
 * as no bucket, so those go first, then the least recently used.
 */
export class ServeRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    readonly limits: ServeRateLimits = DEFAULT_SERVE_RATE_LIMITS,
    private readonly bucketsMax: number = RATE_LIMIT_BUCKETS_MAX,
  ) {
    for (const [protocol, limit] of Object.entries(limits)) {
      if (!(limit.perSecond >= 0) || !(limit.burst >= 1) || !Number.isFinite(limit.burst)) {
        throw new RangeError(`rate limit of ${protocol}: perSecond must be ≥ 0 and burst a number ≥ 1`);
      }
    }
  }

  /** Spends one token of `peer`'s bucket for `protocol`; false when it is empty (over the limit). */
  take(peer: string, protocol: ReqRespProtocol): boolean {
    const limit = this.limits[protocol];
    const key = `${protocol} ${peer}`;
    const now = this.clock.now();
    const b = this.buckets.get(key);
    const tokens = b === undefined ? limit.burst : this.refilled(b, limit, now);
    this.buckets.delete(key);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, atMs: now });
      return false;
    }
    this.buckets.set(key, { tokens: tokens - 1, atMs: now });
    if (this.buckets.size > this.bucketsMax) this.prune(now);
    return true;
  }

  /** Buckets held (for tests and diagnostics). */
  size(): number {
    return this.buckets.size;
  }

  private refilled(b: Bucket, limit: RateLimit, now: number): number {
    return Math.min(limit.burst, b.tokens + (Math.max(0, now - b.atMs) * limit.perSecond) / 1000);
  }

  private prune(now: number): void {
    for (const [key, b] of this.buckets) {
      const protocol = key.slice(0, key.indexOf(' ')) as ReqRespProtocol;
      if (this.refilled(b, this.limits[protocol], now) >= this.limits[protocol].burst)
        this.buckets.delete(key);
    }
    // still too many: forget the least recently used (insertion order is use order)
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.bucketsMax) break;
      this.buckets.delete(key);
    }
  }
}
