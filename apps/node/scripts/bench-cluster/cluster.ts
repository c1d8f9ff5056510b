/**
 * The cluster bench's processes: a testnet written by `synodd testnet`
 * (genesis edited for the bench's timeouts), real `synodd start` processes
 * on 127.0.0.1 (log to a file; optional node flags such as --cpu-prof),
 * `synod load` runs, a WebSocket that records when each block header
 * arrives, and a registry of every child so that none outlives the bench
 * (Ctrl-C, a failure, or a normal end).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '@synod/crypto';
import WebSocket from 'ws';
import { checkGenesisApp, docToGenesis } from '../../src/genesis.js';
import { freeBasePort, rpc, type Status, CLI as SYNODD, synodd } from '../../test/e2e/harness.js';
import { percentile } from './measure.js';

export const SYNOD = fileURLToPath(new URL('../../../cli/dist/cli.js', import.meta.url));

const children = new Set<ChildProcess>();

/** Spawns a child that the bench stops on its way out, whatever the way. */
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM to every child still running, SIGKILL to those still there after `graceMs`. */
export async function stopEverything(graceMs = 10_000): Promise<void> {
  const all = [...children];
  for (const c of all) c.kill('SIGTERM');
  await Promise.race([
    Promise.all(all.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : once(c, 'exit')))),
    new Promise((r) => setTimeout(r, graceMs)),
  ]);
  for (const c of children) c.kill('SIGKILL');
}

// Last resort when the bench exits by any path: nothing it started keeps running.
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Testnet {
  readonly dir: string;
  readonly base: number;
  readonly validators: number;
  readonly nonValidators: number;
  readonly rpcPort: (i: number) => number;
  readonly home: (i: number) => string;
}

/** `synodd testnet` into `dir`, then every node's genesis gets `timeout.commit` (ms) and the app hash that follows. */
export async function writeTestnet(o: {
  dir: string;
  validators: number;
  nonValidators: number;
  accounts: number;
  timeoutCommitMs: number;
}): Promise<Testnet> {
  const total = o.validators + o.nonValidators;
  const base = await freeBasePort(total);
  const written = await synodd(
    [
      'testnet',
      '--validators',
      String(o.validators),
      '--non-validators',
      String(o.nonValidators),
      '--accounts',
      String(o.accounts),
      '--out',
      o.dir,
      '--base-port',
      String(base),
      '--chain-id',
      'bench-cluster',
    ],
    120_000,
  );
  if (written.code !== 0) throw new Error(`synodd testnet failed: ${written.stderr}`);
  const home = (i: number): string => join(o.dir, `node${i}`);
  const g = JSON.parse(await readFile(join(home(0), 'config', 'genesis.json'), 'utf8')) as {
    consensus_params: { timeout: Record<string, string> };
    app_hash: string;
  };
  g.consensus_params.timeout.commit = String(o.timeoutCommitMs * 1_000_000);
  g.app_hash = '';
  // the consensus parameters are part of the application's genesis state: its app hash changes with them
  g.app_hash = toHex(await checkGenesisApp(docToGenesis(g).genesis, '')).toUpperCase();
  for (let i = 0; i < total; i++)
    await writeFile(join(home(i), 'config', 'genesis.json'), `${JSON.stringify(g, null, 2)}\n`);
  return {
    dir: o.dir,
    base,
    validators: o.validators,
    nonValidators: o.nonValidators,
    rpcPort: (i) => base + 10 * i + 1,
    home,
  };
}

/** A running `synodd start` (stdout and stderr to `log`). */
/**
 * Moves node `i` of `net` to fresh ports (P2P, RPC, metrics) when any of its
 * own is taken: a node started long after `writeTestnet` (the block-sync
 * follower) may find them used by another program on a shared machine.
 * Returns its RPC port.
 */
export async function freshPortsIfTaken(net: Testnet, i: number): Promise<number> {
  const old = net.base + 10 * i;
  const taken = await Promise.all([0, 1, 4].map((k) => portTaken(old + k)));
  if (!taken.some((t) => t)) return old + 1;
  const base = await freeBasePort(1);
  const file = join(net.home(i), 'config', 'config.toml');
  let text = await readFile(file, 'utf8');
  for (const k of [0, 1, 4]) text = text.replaceAll(`127.0.0.1:${old + k}"`, `127.0.0.1:${base + k}"`);
  await writeFile(file, text);
  return base + 1;
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

export class Synodd {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(
    home: string,
    readonly log: string,
    nodeFlags: readonly string[] = [],
    startFlags: readonly string[] = [],
  ) {
    this.child = track(
      spawn(
        process.execPath,
        [
          ...nodeFlags,
          SYNODD,
          'start',
          '--home',
          home,
          '--log_level',
          process.env.SYNODD_LOG_LEVEL ?? 'warn',
          ...startFlags,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    const out = createWriteStream(log, { flags: 'a' });
    this.child.stdout?.pipe(out);
    this.child.stderr?.pipe(out);
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resident set size in bytes, from /proc (Linux). */
  async rss(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (m === null) throw new Error(`no VmRSS for pid ${this.pid}`);
    return Number(m[1]) * 1024;
  }

  /** CPU time (user + system) the process has used, in ms, from /proc (Linux; clock ticks of 10 ms). */
  async cpuMs(): Promise<number> {
    const stat = await readFile(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Polls a node's `status` until its height reaches `height` (fails at once when one of `nodes` exited). */
export async function waitHeight(
  port: number,
  height: number,
  timeoutMs: number,
  nodes: readonly Synodd[] = [],
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    for (const n of nodes)
      if (n.child.exitCode !== null) throw new Error(`synodd exited (${n.child.exitCode}): see ${n.log}`);
    try {
      last = Number((await rpc<Status>(port, 'status')).sync_info.latest_block_height);
      if (last >= height) return last;
    } catch {
      // not up yet, or busy
    }
    if (Date.now() > deadline)
      throw new Error(`the node on RPC port ${port} did not reach height ${height} (at ${last})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function heightOf(port: number): Promise<number> {
  return Number((await rpc<Status>(port, 'status')).sync_info.latest_block_height);
}

/** When each block header arrived (performance.now()), from a NewBlockHeader subscription. */
export class HeaderWatch {
  readonly arrivals = new Map<number, number>();
  #ws: WebSocket;
  #waiters: { height: number; resolve: () => void }[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const now = performance.now();
      const m = JSON.parse(String(data)) as {
        result?: { data?: { value?: { header?: { height?: string } } } };
      };
      const h = m.result?.data?.value?.header?.height;
      if (h === undefined) return;
      const height = Number(h);
      this.arrivals.set(height, now);
      this.#waiters = this.#waiters.filter((w) => {
        if (height < w.height) return true;
        w.resolve();
        return false;
      });
    });
  }

  static async open(port: number): Promise<HeaderWatch> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`);
    await once(ws, 'open');
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'subscribe',
        params: { query: "tm.event='NewBlockHeader'" },
      }),
    );
    return new HeaderWatch(ws);
  }

  get top(): number {
    let t = 0;
    for (const h of this.arrivals.keys()) if (h > t) t = h;
    return t;
  }

  waitFor(height: number, timeoutMs: number): Promise<void> {
    if (this.top >= height) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no block ${height} within ${timeoutMs} ms (at ${this.top})`)),
        timeoutMs,
      );
      this.#waiters.push({
        height,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Intervals (ms) between consecutive heights in (from, to]. */
  intervals(from: number, to: number): number[] {
    const out: number[] = [];
    for (let h = from + 1; h <= to; h++) {
      const a = this.arrivals.get(h - 1);
      const b = this.arrivals.get(h);
      if (a !== undefined && b !== undefined) out.push(b - a);
    }
    return out;
  }

  close(): void {
    this.#ws.close();
  }
}

/** What `synod load --output json` reports (the fields the bench reads). */
export interface LoadResult {
  readonly rate: number;
  readonly submitted: number;
  readonly accepted: number;
  readonly committed: number;
  readonly submitTxPerSec: number;
  readonly committedTxPerSec: number;
  readonly latencyMs: { p50?: number; p95?: number; p99?: number; max?: number; mean?: number };
  readonly rejections: Record<string, number>;
  readonly pendingAtEnd: number;
  readonly blocks: { first: number; last: number };
}

/** `synod load` against the nodes' RPC. */
export async function runLoad(o: {
  rate: number;
  durationMs: number;
  drainMs: number;
  ports: readonly number[];
  keys: string;
  log: string;
}): Promise<LoadResult> {
  const child = track(
    spawn(
      process.execPath,
      [
        SYNOD,
        'load',
        '--rate',
        String(o.rate),
        '--duration',
        `${o.durationMs}ms`,
        '--drain',
        `${o.drainMs}ms`,
        '--keys',
        o.keys,
        '--output',
        'json',
        '--node',
        ...o.ports.map((p) => `http://127.0.0.1:${p}`),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const log = createWriteStream(o.log, { flags: 'a' });
  child.stderr?.pipe(log);
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`synod load exited ${code} (log: ${o.log}): ${stdout.slice(0, 400)}`);
  return JSON.parse(stdout) as LoadResult;
}

/** Block times (header time, the proposer's clock) and transaction counts of heights first…last. */
export async function blockStats(
  port: number,
  first: number,
  last: number,
): Promise<{
  blocks: number;
  maxTxs: number;
  intervalMs: { p50: number; max: number };
  /** Heights of first..last-1 whose commit (in the next block) is of a round above 0. */
  laterRounds: number;
}> {
  const metas: { h: number; t: number; n: number }[] = [];
  for (let h = first; h <= last; h += 20) {
    const res = await rpc<{ block_metas: { header: { height: string; time: string }; num_txs: string }[] }>(
      port,
      'blockchain',
      { minHeight: String(h), maxHeight: String(Math.min(last, h + 19)) },
    );
    for (const m of res.block_metas)
      metas.push({ h: Number(m.header.height), t: Date.parse(m.header.time), n: Number(m.num_txs) });
  }
  metas.sort((a, b) => a.h - b.h);
  const iv: number[] = [];
  for (let i = 1; i < metas.length; i++)
    iv.push((metas[i] as { t: number }).t - (metas[i - 1] as { t: number }).t);
  let laterRounds = 0;
  for (let h = first; h < last; h++) {
    const res = await rpc<{ signed_header: { commit: { round: number | string } } }>(port, 'commit', {
      height: String(h),
    });
    if (Number(res.signed_header.commit.round) > 0) laterRounds++;
  }
  return {
    blocks: metas.length,
    maxTxs: Math.max(0, ...metas.map((m) => m.n)),
    intervalMs: { p50: percentile(iv, 50), max: Math.max(0, ...iv) },
    laterRounds,
  };
}
