import { type SimOptions, VALIDATORS_MAX } from './scenario.js';
import type { NodeHeap, SimResult } from './simulation.js';

export const USAGE = `usage:
  pnpm sim --seed S [options]            replay one seed with a readable trace
  pnpm sim --seeds N [--from S] [options] run N seeds (default from 1): one line per failure
options:
  --validators N | A-B   validators, or a range the seed chooses from (default 4, at most ${VALIDATORS_MAX})
  --byzantine B          Byzantine validators (default: as many as stay below 1/3 of the power; 0: none)
  --heights H            heights of the safety phase (default 12)
  --liveness K           heights every honest node must decide in the liveness phase (default 5)
  --no-faults            no crashes, partitions, loss, duplication or delay storms
  --no-workload          no transactions (the workload submits signed transfers to broadcastTx)
  --signatures fast      keyed-hash signatures instead of Ed25519 (faster; see README)
  --quiet                single seed: summary only, no trace`;

export interface Cli {
  readonly seed: number | undefined;
  readonly seeds: number | undefined;
  readonly from: number;
  readonly quiet: boolean;
  readonly help: boolean;
  /** The options, as flags, for the replay command. */
  readonly flags: readonly string[];
  readonly options: Omit<SimOptions, 'seed'>;
}

/** A command line that does not make sense (the CLI prints it with the usage). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function fail(message: string): never {
  throw new UsageError(message);
}

function int(value: string | undefined, name: string, min = 0, max = 0xffffffff): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min || n > max)
    fail(`${name} needs an integer in ${min}..${max}`);
  return n;
}

export function parseArgs(argv: readonly string[]): Cli {
  let seed: number | undefined;
  let seeds: number | undefined;
  let from = 1;
  let quiet = false;
  let help = false;
  const flags: string[] = [];
  const o: {
    validators?: number | [number, number];
    byzantine?: number;
    heights?: number;
    livenessHeights?: number;
    faults?: boolean;
    signatures?: 'ed25519' | 'fast';
    workload?: boolean;
  } = {};
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = (): string | undefined => args[++i];
    switch (a) {
      case '--seed':
        seed = int(next(), '--seed');
        break;
      case '--seeds':
        seeds = int(next(), '--seeds', 1);
        break;
      case '--from':
        from = int(next(), '--from');
        break;
      case '--validators': {
        const v = next() ?? '';
        const m = /^(\d+)(?:-(\d+))?$/.exec(v);
        if (m === null) fail('--validators needs N or A-B');
        const lo = int(m[1], '--validators', 1, VALIDATORS_MAX);
        const hi = m[2] === undefined ? lo : int(m[2], '--validators', lo, VALIDATORS_MAX);
        o.validators = lo === hi ? lo : [lo, hi];
        flags.push(a, v);
        break;
      }
      case '--byzantine': {
        const v = next();
        o.byzantine = int(v, '--byzantine', 0, VALIDATORS_MAX);
        flags.push(a, String(v));
        break;
      }
      case '--heights': {
        const v = next();
        o.heights = int(v, '--heights', 1, 1_000_000);
        flags.push(a, String(v));
        break;
      }
      case '--liveness': {
        const v = next();
        o.livenessHeights = int(v, '--liveness', 1, 1_000_000);
        flags.push(a, String(v));
        break;
      }
      case '--no-faults':
        o.faults = false;
        flags.push(a);
        break;
      case '--signatures': {
        const v = next();
        if (v !== 'fast' && v !== 'ed25519') fail('--signatures is ed25519 or fast');
        o.signatures = v;
        flags.push(a, v);
        break;
      }
      case '--no-workload':
        o.workload = false;
        flags.push(a);
        break;
      case '--quiet':
        quiet = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        fail(`unknown argument ${a}`);
    }
  }
  if (!help && (seed === undefined) === (seeds === undefined)) fail('give either --seed S or --seeds N');
  return { seed, seeds, from, quiet, help, flags, options: o };
}

export function replayCommand(seed: number, flags: readonly string[]): string {
  return ['pnpm sim --seed', String(seed), ...flags].join(' ');
}

/** Punishments of one run or of many: evidence committed, slashes by reason, jails, tombstones. */
export interface PunishmentTotals {
  evidenceCommitted: number;
  doubleSign: number;
  doubleProposal: number;
  downtime: number;
  jailed: number;
  tombstoned: number;
}

export function emptyTotals(): PunishmentTotals {
  return {
    evidenceCommitted: 0,
    doubleSign: 0,
    doubleProposal: 0,
    downtime: 0,
    jailed: 0,
    tombstoned: 0,
  };
}

export function addTotals(t: PunishmentTotals, r: SimResult): void {
  const p = r.stats.punishments;
  t.evidenceCommitted += p.evidenceCommitted;
  t.doubleSign += p.doubleSign;
  t.doubleProposal += p.doubleProposal;
  t.downtime += p.downtime;
  t.jailed += p.jailed;
  t.tombstoned += p.tombstoned;
}

/** "evidence committed 7, slashed 2 (double-sign 1, double-proposal 1, downtime 0), jailed 2, tombstoned 2". */
export function punishmentLine(t: PunishmentTotals): string {
  const slashed = t.doubleSign + t.doubleProposal + t.downtime;
  return `evidence committed ${t.evidenceCommitted}, slashed ${slashed} (double-sign ${t.doubleSign}, double-proposal ${t.doubleProposal}, downtime ${t.downtime}), jailed ${t.jailed}, tombstoned ${t.tombstoned}`;
}

export function summary(r: SimResult, wallMs: number): string[] {
  const s = r.stats;
  const byz = Object.entries(s.byzantineActions)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `result: ${r.ok ? 'PASS' : `FAIL ${r.failure?.class} (${r.failure?.check}): ${r.failure?.reason}`}`,
    `trace hash ${r.traceHash}, chain hash ${r.finalState.chainHash}`,
    `heights ${s.heights} (rounds beyond the first: ${s.extraRounds}, highest decision round ${s.maxRound}), simulated ${(s.simulatedMs / 1000).toFixed(1)}s, events ${s.events}`,
    `messages sent ${s.messagesSent}, delivered ${s.messagesDelivered}, dropped ${s.messagesDropped}`,
    `gossip sent ${s.gossipSent} (relayed ${s.gossipRelayed}, spared ${s.gossipSpared}), seen before ${s.gossipDuplicates}, rejected on arrival ${s.gossipRejected}, out of window ${s.gossipIgnored}`,
    `requests: ${Object.entries(s.requests)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')} (timed out ${s.requestTimeouts})`,
    `crashes ${s.crashes}, restarts ${s.restarts} (${s.walLosses} with the WAL lost), partitions ${s.partitions}, storms ${s.storms}, block syncs ${s.syncs}`,
    `byzantine actions: ${byz === '' ? 'none' : byz}`,
    `evidence reports ${s.evidenceReports}, infractions ${s.infractions}, taken by pools ${s.evidenceAdded}`,
    `transactions submitted ${s.txs.submitted} (${Object.entries(s.txs.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}), accepted ${s.txs.accepted}, committed ${s.txs.committed}`,
    (() => {
      const t = emptyTotals();
      addTotals(t, r);
      return `${punishmentLine(t)}; longest run of decided commits an honest validator missed ${s.punishments.honestMissStreak}`;
    })(),
    ...r.notes.map((n) => `note: ${n}`),
    ...heapLines(r.heap),
    `signatures verified ${s.signaturesVerified} (the rest from the shared cache), wall ${wallMs.toFixed(0)}ms`,
  ];
}

const mib = (bytes: number): string => (bytes / (1 << 20)).toFixed(1);
const kib = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${(bytes / 1024).toFixed(0)} KiB`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** Most nodes listed one per line in the heap lines (the highest peaks first beyond that). */
const HEAP_NODES_LISTED = 10;

/**
 * The memory lines of a summary, per node: the peak of the process's heap at
 * its decisions and its growth per decided height (mean, and the largest
 * step), and the WAL bytes it appended per height (mean, and the largest).
 */
export function heapLines(heap: readonly NodeHeap[]): string[] {
  const withSamples = heap.filter((h) => h.samples.length > 0);
  if (withSamples.length === 0) return [];
  const listed =
    withSamples.length <= HEAP_NODES_LISTED
      ? withSamples
      : [...withSamples].sort((a, b) => b.peakBytes - a.peakBytes).slice(0, HEAP_NODES_LISTED);
  return [
    `heap per height (process heapUsed at each node's decisions, host-side, not in the trace hash; WAL bytes the node appended per height)${listed.length < withSamples.length ? `, the ${listed.length} highest peaks of ${withSamples.length} nodes` : ''}:`,
    ...listed.map(
      (h) =>
        `  node ${h.index}: peak ${mib(h.peakBytes)} MiB at h=${h.peakHeight}, ${kib(h.growthPerHeight)}/height over ${h.samples.length} heights (largest step ${kib(h.maxStepBytes)}); WAL ${kb(h.walMeanBytes)}/height, at most ${kb(h.walMaxBytes)} (h=${h.walMaxHeight})`,
    ),
  ];
}

/** The highest heap peak of a run (bytes) and the node it was seen at. */
export function heapPeak(heap: readonly NodeHeap[]): { readonly bytes: number; readonly node: number } {
  let best = { bytes: 0, node: -1 };
  for (const h of heap) if (h.peakBytes > best.bytes) best = { bytes: h.peakBytes, node: h.index };
  return best;
}

/** Memory over many runs: the highest heap peak and the largest WAL of one height, with where they were seen. */
export interface MemoryTotals {
  heap: { bytes: number; seed: number; node: number; growth: number };
  wal: { bytes: number; seed: number; node: number; height: number };
}

export function emptyMemory(): MemoryTotals {
  return {
    heap: { bytes: 0, seed: 0, node: -1, growth: 0 },
    wal: { bytes: 0, seed: 0, node: -1, height: 0 },
  };
}

export function addMemory(m: MemoryTotals, r: SimResult): void {
  const p = heapPeak(r.heap);
  if (p.bytes > m.heap.bytes) m.heap = { ...p, seed: r.seed, growth: r.heap[p.node]?.growthPerHeight ?? 0 };
  for (const h of r.heap)
    if (h.walMaxBytes > m.wal.bytes)
      m.wal = { bytes: h.walMaxBytes, seed: r.seed, node: h.index, height: h.walMaxHeight };
}

/** "heap peak 134.7 MiB (seed 237, node 3, …); largest WAL of one height 41.2 KiB (seed 12, node 1, h=7)". */
export function memoryLine(m: MemoryTotals): string {
  const { heap, wal } = m;
  return `heap peak ${mib(heap.bytes)} MiB (seed ${heap.seed}, node ${heap.node}, ${kib(heap.growth)}/height there; host-side); largest WAL of one height ${kb(wal.bytes)} (seed ${wal.seed}, node ${wal.node}, h=${wal.height})`;
}

/** Byzantine actions over many runs: how often each happened, and in how many runs. */
export interface ActionTotals {
  readonly count: Map<string, number>;
  readonly runs: Map<string, number>;
}

export function emptyActions(): ActionTotals {
  return { count: new Map(), runs: new Map() };
}

export function addActions(t: ActionTotals, r: SimResult): void {
  for (const [k, n] of Object.entries(r.stats.byzantineActions)) {
    t.count.set(k, (t.count.get(k) ?? 0) + n);
    t.runs.set(k, (t.runs.get(k) ?? 0) + (n > 0 ? 1 : 0));
  }
}

/** "silent 120 (31 seeds), equivocate 96 (40 seeds), …": every action kind, zeros included. */
export function actionsLine(t: ActionTotals): string {
  return [...t.count].map(([k, n]) => `${k} ${n} (${t.runs.get(k) ?? 0} seeds)`).join(', ');
}
