/**
 * The honest side of a hostile-peer run: a validator peer that votes at a
 * steady rate, each vote tagged (in its block hash) with a sequence number
 * and the moment it was published, and the record of where they arrived.
 */
import type { SignedVote } from '@synod/types';
import type { Network } from '../../src/index.js';
import { signVote, type Validators } from '../fixtures.js';
import { epochMs } from './attacker.js';

const MAGIC = 0x484e5354; // "HNST"

/** A validly signed prevote (height 1, round 0) carrying `seq` and `sentAtMs` in its block hash. */
export function honestVote(vals: Validators, seq: number, sentAtMs: number): SignedVote {
  const hash = new Uint8Array(32);
  const v = new DataView(hash.buffer);
  v.setUint32(0, MAGIC, false);
  v.setUint32(4, seq, false);
  v.setFloat64(8, sentAtMs, false);
  return signVote(vals.keyAt(seq % vals.keys.length), {
    type: 'prevote',
    height: 1,
    round: 0,
    blockHash: hash,
  });
}

/** The tag of an honest vote, or undefined for any other vote. */
export function honestTag(sv: SignedVote): { seq: number; sentAtMs: number } | undefined {
  const h = sv.vote.blockHash;
  if (h === null || h.length !== 32) return undefined;
  const v = new DataView(h.buffer, h.byteOffset, 32);
  if (v.getUint32(0, false) !== MAGIC) return undefined;
  return { seq: v.getUint32(4, false), sentAtMs: v.getFloat64(8, false) };
}

/** Publishes an honest vote every 1000 / `perSecond` ms. */
export class HonestVoter {
  /** Send time (epochMs) of every published vote, by sequence number. */
  readonly published = new Map<number, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private seq = 0;
  failures = 0;

  constructor(
    private readonly network: Network,
    private readonly vals: Validators,
    private readonly perSecond = 20,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.publishOne(), 1000 / this.perSecond);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private publishOne(): void {
    const seq = this.seq++;
    const at = epochMs();
    this.published.set(seq, at);
    this.network.publishVote(honestVote(this.vals, seq, at)).catch(() => {
      this.failures++;
    });
  }

  /** Sequence numbers published in [fromMs, toMs). */
  publishedBetween(fromMs: number, toMs: number): number[] {
    const out: number[] = [];
    for (const [seq, at] of this.published) if (at >= fromMs && at < toMs) out.push(seq);
    return out;
  }
}

/** Where honest votes arrived: delay by sequence number; anything else received is counted apart. */
export class Deliveries {
  readonly delayMs = new Map<number, number>();
  /** Votes received that are not honest votes (must stay 0 downstream of the victim). */
  foreign = 0;

  /** Records a received vote. */
  record(sv: SignedVote, atMs = epochMs()): void {
    const tag = honestTag(sv);
    if (tag === undefined) {
      this.foreign++;
      return;
    }
    if (!this.delayMs.has(tag.seq)) this.delayMs.set(tag.seq, atMs - tag.sentAtMs);
  }
}

export interface DeliveryStats {
  readonly published: number;
  readonly delivered: number;
  /** Share delivered within `withinMs`. */
  readonly onTime: number;
  /** Delays over every published vote (an undelivered one counts as infinite). */
  readonly medianMs: number;
  readonly p99Ms: number;
}

/** Delivery figures of the votes `seqs`, from their delays (`delayOf`, undefined: never arrived). */
export function deliveryStats(
  seqs: readonly number[],
  delayOf: (seq: number) => number | undefined,
  withinMs = 1_000,
): DeliveryStats {
  const delays = seqs.map((s) => delayOf(s) ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const at = (q: number): number =>
    delays.length === 0
      ? Number.NaN
      : (delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? Number.NaN);
  return {
    published: seqs.length,
    delivered: delays.filter(Number.isFinite).length,
    onTime: delays.length === 0 ? Number.NaN : delays.filter((d) => d <= withinMs).length / delays.length,
    medianMs: at(0.5),
    p99Ms: at(0.99),
  };
}
