/**
 * What the victim's side of a hostile-peer run records, from the network's
 * own logger lines (the only per-peer account it gives): when each peer was
 * banned, how many of its messages were validated, and how many of those
 * after its ban; plus the process's memory and CPU.
 */
import { getHeapStatistics } from 'node:v8';
import type { LogContext, Logger } from '@synod/types';
import { epochMs } from './attacker.js';

export interface PeerRecord {
  /** Gossip messages of this peer that went through validation (REJECT or IGNORE verdicts; drops unvalidated excluded). */
  validated: number;
  /** Those validated after its ban. */
  validatedAfterBan: number;
  /** When the network banned it (epochMs), and why. */
  bannedAtMs: number | undefined;
  banReason: string | undefined;
  /** Gossipsub-level violations charged to it. */
  violations: number;
}

/** Verdicts that are not a validation: the message was dropped unlooked-at. */
const UNVALIDATED = new Set(['QUEUE_FULL', 'PEER_BANNED']);

/**
 * A Logger for the victim's network that keeps per-peer accounts (bounded by
 * the number of peers) and the error lines, and nothing else.
 */
export class PeerLedger implements Logger {
  readonly peers = new Map<string, PeerRecord>();
  readonly errors: string[] = [];

  private record(peer: unknown): PeerRecord | undefined {
    if (typeof peer !== 'string') return undefined;
    let r = this.peers.get(peer);
    if (r === undefined) {
      r = { validated: 0, validatedAfterBan: 0, bannedAtMs: undefined, banReason: undefined, violations: 0 };
      this.peers.set(peer, r);
    }
    return r;
  }

  private validated(ctx: LogContext | undefined): void {
    if (typeof ctx?.reason === 'string' && UNVALIDATED.has(ctx.reason)) return;
    const r = this.record(ctx?.peer);
    if (r === undefined) return;
    r.validated++;
    if (r.bannedAtMs !== undefined) r.validatedAfterBan++;
  }

  trace(): void {}

  debug(msg: string, ctx?: LogContext): void {
    if (msg === 'gossip message ignored') this.validated(ctx);
  }

  info(): void {}

  warn(msg: string, ctx?: LogContext): void {
    if (msg === 'invalid gossip message rejected') this.validated(ctx);
    else if (msg === 'peer banned') {
      const r = this.record(ctx?.peer);
      if (r !== undefined && r.bannedAtMs === undefined) {
        r.bannedAtMs = epochMs();
        r.banReason = typeof ctx?.reason === 'string' ? ctx.reason : undefined;
      }
    } else if (msg === 'gossip protocol violation') {
      const r = this.record(ctx?.peer);
      if (r !== undefined) r.violations++;
    }
  }

  error(msg: string, ctx?: LogContext): void {
    if (this.errors.length < 100) this.errors.push(`${msg} ${JSON.stringify(ctx ?? {})}`);
  }

  child(): Logger {
    return this;
  }
}

export interface ResourceFigures {
  /** MB, after a GC when available. */
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  readonly rssAfterMb: number;
  readonly heapBeforeMb: number;
  readonly heapPeakMb: number;
  readonly heapAfterMb: number;
  /** CPU time of the process over the measured window, in cores (1 = one core busy throughout). */
  readonly cpuCores: number;
}

const mb = (bytes: number): number => bytes / (1024 * 1024);

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

/** Samples RSS and heap every `intervalMs`; CPU between `start` and `stopCpu`. */
export class ResourceSampler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private rssBefore = 0;
  private heapBefore = 0;
  private rssPeak = 0;
  private heapPeak = 0;
  private cpuStart: NodeJS.CpuUsage | undefined;
  private wallStart = 0;
  private cpuCores = Number.NaN;

  start(intervalMs = 250): void {
    collect();
    const m = process.memoryUsage();
    this.rssBefore = this.rssPeak = m.rss;
    this.heapBefore = this.heapPeak = m.heapUsed;
    this.cpuStart = process.cpuUsage();
    this.wallStart = performance.now();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    // the cheaper readings; even RSS costs ~1 ms in a busy process, hence the 250 ms interval
    this.rssPeak = Math.max(this.rssPeak, process.memoryUsage.rss());
    this.heapPeak = Math.max(this.heapPeak, getHeapStatistics().used_heap_size);
  }

  /** Ends the CPU window (the attack) while memory sampling goes on. */
  stopCpu(): void {
    if (this.cpuStart === undefined) return;
    const used = process.cpuUsage(this.cpuStart);
    const wallUs = (performance.now() - this.wallStart) * 1000;
    this.cpuCores = (used.user + used.system) / wallUs;
    this.cpuStart = undefined;
  }

  /** Ends sampling; "after" is measured now, after a GC when available. */
  finish(): ResourceFigures {
    this.sample();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.stopCpu();
    collect();
    const m = process.memoryUsage();
    return {
      rssBeforeMb: mb(this.rssBefore),
      rssPeakMb: mb(this.rssPeak),
      rssAfterMb: mb(m.rss),
      heapBeforeMb: mb(this.heapBefore),
      heapPeakMb: mb(this.heapPeak),
      heapAfterMb: mb(m.heapUsed),
      cpuCores: this.cpuCores,
    };
  }
}
