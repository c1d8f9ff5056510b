/**
 * The nodes of a chaos run: real `synodd start` processes, each inside its
 * network namespace (`ip netns exec`), their JSON logs in a file per node
 * and the events the checks need kept in memory, their RPC and metrics
 * reached from the host over the bridge.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeAddress, nodeNs } from './netns.js';

export const SYNODD = fileURLToPath(new URL('../../node/dist/cli.js', import.meta.url));
export const SYNOD = fileURLToPath(new URL('../../cli/dist/cli.js', import.meta.url));
export const P2P_PORT = 26656;
export const RPC_PORT = 26657;
export const METRICS_PORT = 26660;

/** Log events the checks read (everything else stays in the log file only). */
const KEPT_EVENTS = new Set([
  'peer_banned',
  'ip_banned',
  'partition_suspected',
  'partition_healed',
  'block_sync',
  'equivocation',
  'double_proposal',
  'conflicting_commits',
  'node_halted',
  'consensus_halted',
  'crash',
  'byzantine_mode',
  'byzantine_action',
  'clock_skew',
  'invalid_signature',
  'unhandled_rejection',
  'bad_request',
]);

export type LogLine = Record<string, unknown> & { msg?: string; level?: string; event?: string };

export interface KeptLine {
  readonly atMs: number;
  readonly line: LogLine;
}

export class ChaosNode {
  readonly index: number;
  readonly home: string;
  readonly validator: boolean;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #log: WriteStream;
  /** Kept events (KEPT_EVENTS), and any warn/error line with a message the checks do not expect. */
  readonly events: KeptLine[] = [];
  /** Lines at error level (first 200). */
  readonly errors: KeptLine[] = [];
  /** Log lines of the `WAL` recovery, `synodd started` … (the start-up lines). */
  readonly starts: KeptLine[] = [];
  #peerId = '';
  /** The flags of the current run (Byzantine mode, clock skew). */
  extraFlags: string[] = [];
  starts_count = 0;
  /** When the current process was started (Date.now()). */
  startedAtMs = 0;

  constructor(index: number, home: string, validator: boolean, logDir: string) {
    this.index = index;
    this.home = home;
    this.validator = validator;
    this.#log = createWriteStream(join(logDir, `node${index}.log`), { flags: 'a' });
  }

  get name(): string {
    return `node${this.index}`;
  }
  get running(): boolean {
    return this.#child !== undefined;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  get peerId(): string {
    return this.#peerId;
  }
  set peerId(id: string) {
    this.#peerId = id;
  }
  get rpcUrl(): string {
    return `http://${nodeAddress(this.index)}:${RPC_PORT}`;
  }
  get metricsUrl(): string {
    return `http://${nodeAddress(this.index)}:${METRICS_PORT}/metrics`;
  }

  /** Starts `synodd start` in the node's namespace (with `extraFlags`). */
  start(): void {
    if (this.#child !== undefined) return;
    this.starts_count++;
    this.startedAtMs = Date.now();
    this.#log.write(`${JSON.stringify({ chaos: 'start', atMs: Date.now(), flags: this.extraFlags })}\n`);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        nodeNs(this.index),
        process.execPath,
        SYNODD,
        'start',
        '--home',
        this.home,
        '--log_format',
        'json',
        '--rpc.laddr',
        `tcp://0.0.0.0:${RPC_PORT}`,
        '--instrumentation.prometheus_listen_addr',
        `0.0.0.0:${METRICS_PORT}`,
        ...this.extraFlags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    let pending = '';
    child.stdout?.on('data', (d: Buffer) => {
      this.#log.write(d);
      pending += d.toString();
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        this.#take(text);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.#log.write(`${JSON.stringify({ chaos: 'stderr', text: d.toString() })}\n`);
    });
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.#log.write(`${JSON.stringify({ chaos: 'exit', atMs: Date.now(), code, signal })}\n`);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
  }

  #take(text: string): void {
    if (!text.startsWith('{')) return;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    const atMs = Date.now();
    if (typeof line.event === 'string' && KEPT_EVENTS.has(line.event)) {
      if (this.events.length < 20_000) this.events.push({ atMs, line });
    } else if (line.msg === 'synodd started' || line.msg === 'synodd stopped')
      this.starts.push({ atMs, line });
    if (line.level === 'error' && this.errors.length < 200) this.errors.push({ atMs, line });
  }

  /** Sends `signal` (SIGKILL, SIGTERM, SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (this.#child === undefined) return;
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (a clean stop); SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Events named `event` seen since `sinceMs`. */
  eventsOf(event: string, sinceMs = 0): LogLine[] {
    return this.events.filter((e) => e.atMs >= sinceMs && e.line.event === event).map((e) => e.line);
  }

  close(): void {
    this.#log.end();
  }
}

/** A JSON-RPC call; throws on an error or after `timeoutMs`. */
export async function rpc<T = unknown>(
  url: string,
  method: string,
  params: unknown = {},
  timeoutMs = 5000,
): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string; data?: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message} ${body.error.data ?? ''}`);
  return body.result as T;
}

/** The node's committed height, or undefined when its RPC does not answer (two tries: a loaded machine). */
export async function heightOf(node: ChaosNode): Promise<number | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!node.running) return undefined;
    try {
      const s = await rpc<{ sync_info: { latest_block_height: string } }>(node.rpcUrl, 'status', {}, 4000);
      return Number(s.sync_info.latest_block_height);
    } catch {
      // Once more.
    }
  }
  return undefined;
}

/** Scrapes the node's metrics: name{labels} → value (two tries: a loaded machine). */
export async function metricsOf(node: ChaosNode): Promise<Map<string, number> | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!node.running) return undefined;
    try {
      const res = await fetch(node.metricsUrl, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line.trim() === '') continue;
        const sp = line.lastIndexOf(' ');
        out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
      }
      return out;
    } catch {
      // Once more.
    }
  }
  return undefined;
}

/** Sum of a metric's series (every label set). */
export function metricSum(m: Map<string, number> | undefined, name: string): number {
  if (m === undefined) return 0;
  let sum = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) sum += v;
  return sum;
}
