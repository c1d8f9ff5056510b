/**
 * The load run's numbers: percentiles (nearest rank) and the final report
 * as a table or JSON.
 */
import { cpus, totalmem } from 'node:os';
import { kvTable } from '../output.js';

/** The p-th percentile (0 < p ≤ 100) of `sorted` (ascending) by nearest rank; undefined when empty. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export interface LoadReport {
  readonly rate: number;
  readonly durationMs: number;
  readonly accounts: number;
  readonly nodes: readonly string[];
  readonly submitted: number;
  /** HTTP requests that carried them (JSON-RPC batches of up to `--batch`). */
  readonly requests: number;
  /** Taken by a mempool (broadcast_tx_sync code 0). */
  readonly accepted: number;
  readonly committed: number;
  /** committed / submitted, in percent. */
  readonly committedPct: number;
  /** Achieved submission rate over the submission period. */
  readonly submitTxPerSec: number;
  /** Committed transactions per second, from the first submission to the last commit. */
  readonly committedTxPerSec: number;
  readonly latencyMs: {
    readonly p50?: number;
    readonly p95?: number;
    readonly p99?: number;
    readonly max?: number;
    readonly mean?: number;
  };
  /** Refused at submission, by code (the ledger's or mempool's name, or the transport's failure). */
  readonly rejections: Readonly<Record<string, number>>;
  /** Committed with a non-zero code (fee charged, no effect), by code. */
  readonly failedInBlock: Readonly<Record<string, number>>;
  /** Submitted but not seen committed when the run ended. */
  readonly pendingAtEnd: number;
  /** broadcast_tx_sync calls with no answer in 15 s (kept pending: the node may have taken them). */
  readonly unanswered: number;
  /** How commits were seen: in a NewBlock event (WebSocket), or in a block read afterwards (an event the client missed). */
  readonly seenBy: { readonly events: number; readonly blocks: number };
  readonly blocks: { readonly first: number; readonly last: number };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
  };
}

export function machine(): LoadReport['machine'] {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

export function latencySummary(latencies: number[]): LoadReport['latencyMs'] {
  const s = [...latencies].sort((a, b) => a - b);
  if (s.length === 0) return {};
  const r = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x));
  return {
    p50: r(percentile(s, 50)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    max: r(s.at(-1)),
    mean: Math.round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v} ms`);
const codes = (r: Readonly<Record<string, number>>): string =>
  Object.keys(r).length === 0
    ? 'none'
    : Object.entries(r)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n');

export function renderReport(r: LoadReport): string {
  return kvTable([
    [
      'target',
      `${r.rate} tx/s for ${r.durationMs / 1000} s, ${r.accounts} accounts, ${r.nodes.length} node(s)`,
    ],
    [
      'submitted',
      `${r.submitted} (${r.submitTxPerSec.toFixed(1)} tx/s achieved) in ${r.requests} HTTP requests`,
    ],
    ['accepted by a mempool', r.accepted],
    ['committed', `${r.committed} (${r.committedPct.toFixed(2)} % of submitted)`],
    ['committed tx/s', r.committedTxPerSec.toFixed(1)],
    [
      'submit → commit p50 / p95 / p99',
      `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p95)} / ${ms(r.latencyMs.p99)}`,
    ],
    ['latency max / mean', `${ms(r.latencyMs.max)} / ${ms(r.latencyMs.mean)}`],
    ['rejections by code', codes(r.rejections)],
    ['failed in a block, by code', codes(r.failedInBlock)],
    ['pending at the end', r.pendingAtEnd],
    ['submissions with no answer', r.unanswered],
    [
      'commits seen by',
      `${r.seenBy.events} in NewBlock events, ${r.seenBy.blocks} in blocks read afterwards`,
    ],
    ['blocks', `${r.blocks.first} … ${r.blocks.last}`],
    [
      'machine',
      `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}`,
    ],
  ]);
}
