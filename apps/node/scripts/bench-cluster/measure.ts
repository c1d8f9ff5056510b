/**
 * The cluster bench's measuring parts: the machine, the verify bound (Ed25519
 * verifications per second with node:crypto on every core, worker_threads),
 * percentiles, and the top functions of V8 CPU profiles (self time).
 */
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cores: availableParallelism(),
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** The 1-minute load average, rounded (the machine is shared: stated beside each figure). */
export const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1] as number;
}

// Plain JavaScript (a worker of a .ts file would need the loader): verifies one signed 200-byte message over
// and over with a KeyObject made once, as a node verifies a transaction, for `ms`.
const VERIFY_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { generateKeyPairSync, sign, verify, randomBytes } = require('node:crypto');
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const msgs = Array.from({ length: 64 }, () => randomBytes(200));
const sigs = msgs.map((m) => sign(null, m, privateKey));
const t0 = performance.now();
let n = 0;
while (performance.now() - t0 < workerData.ms) {
  for (let i = 0; i < 64; i++) if (!verify(null, msgs[i], publicKey, sigs[i])) throw new Error('bad signature');
  n += 64;
}
parentPort.postMessage({ n, ms: performance.now() - t0 });
`;

/** Ed25519 verifications per second on this machine: one worker per core, each verifying for `ms`. */
export async function verifyBound(ms: number): Promise<{ perSec: number; workers: number }> {
  const workers = availableParallelism();
  const results = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<{ n: number; ms: number }>((resolve, reject) => {
          const w = new Worker(VERIFY_WORKER, { eval: true, workerData: { ms } });
          w.once('message', (m: { n: number; ms: number }) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return { perSec: results.reduce((s, r) => s + (r.n * 1000) / r.ms, 0), workers };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  /** `name (file:line)`, the file relative to the repository or the package in node_modules. */
  readonly fn: string;
  /** Self time as a share of the profiled non-idle time, in percent. */
  readonly selfPct: number;
  readonly selfMs: number;
}

function where(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const m = /\/(packages|apps)\/(.*)$/.exec(url);
  if (m !== null) return `${m[1]}/${m[2]}`;
  return url.replace(/^file:\/\//, '');
}

/** The top `n` functions by self time over every .cpuprofile in `dir` (idle time left out). */
export async function topFunctions(
  dir: string,
  n: number,
): Promise<{ top: HotFunction[]; profiles: number; busyMs: number }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const self = new Map<string, number>();
  let busy = 0;
  for (const f of files) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((x) => [x.id, x]));
    for (let i = 0; i < p.samples.length; i++) {
      const node = byId.get(p.samples[i] as number);
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      if (node === undefined || node.callFrame.functionName === '(idle)') continue;
      const cf = node.callFrame;
      const file = where(cf.url);
      const key = `${cf.functionName || '(anonymous)'}${file === '' ? '' : ` (${file}:${cf.lineNumber + 1})`}`;
      self.set(key, (self.get(key) ?? 0) + dt);
      busy += dt;
    }
  }
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, selfMs: Math.round(ms), selfPct: busy === 0 ? 0 : (ms * 100) / busy }));
  return { top, profiles: files.length, busyMs: Math.round(busy) };
}

/** Sum of a Prometheus counter's samples (every label set matching `labels`) in an exposition text. */
export function counterSum(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * How the validators gossiped transactions: the tx messages they published
 * and the transactions in them (`synod_p2p_tx_batch_txs_total`, since
 * transactions travel in batches; before that, one per message). Read from
 * each node's Prometheus endpoint; undefined when one cannot be read.
 */
export async function txGossip(
  metricsUrls: readonly string[],
): Promise<{ messages: number; txs: number; txsPerMessage: number } | undefined> {
  try {
    let messages = 0;
    let txs = 0;
    for (const url of metricsUrls) {
      const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
      const published = counterSum(text, 'synod_p2p_published_total', { topic: 'txs' });
      messages += published;
      txs += text.includes('synod_p2p_tx_batch_txs_total')
        ? counterSum(text, 'synod_p2p_tx_batch_txs_total', { direction: 'published' })
        : published;
    }
    return { messages, txs, txsPerMessage: messages === 0 ? 0 : txs / messages };
  } catch {
    return undefined;
  }
}

/** The block executor's phases (`synod_node_block_phase_seconds`). */
export const BLOCK_PHASES = ['build', 'validate', 'execute', 'mempool'] as const;

/**
 * Each block phase summed over the nodes: how many blocks went through it
 * and the mean ms per block, from each node's Prometheus endpoint (since the
 * node started); undefined when one cannot be read.
 */
export async function blockPhases(
  metricsUrls: readonly string[],
): Promise<Record<(typeof BLOCK_PHASES)[number], { count: number; meanMs: number }> | undefined> {
  try {
    const sums = BLOCK_PHASES.map(() => ({ count: 0, seconds: 0 }));
    for (const url of metricsUrls) {
      const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
      BLOCK_PHASES.forEach((phase, i) => {
        const s = sums[i] as { count: number; seconds: number };
        s.count += counterSum(text, 'synod_node_block_phase_seconds_count', { phase });
        s.seconds += counterSum(text, 'synod_node_block_phase_seconds_sum', { phase });
      });
    }
    return Object.fromEntries(
      BLOCK_PHASES.map((phase, i) => {
        const s = sums[i] as { count: number; seconds: number };
        return [phase, { count: s.count, meanMs: s.count === 0 ? 0 : (s.seconds * 1000) / s.count }];
      }),
    ) as Record<(typeof BLOCK_PHASES)[number], { count: number; meanMs: number }>;
  } catch {
    return undefined;
  }
}
