/**
 * Runs real synodd processes (node dist/cli.js) on 127.0.0.1 for the e2e
 * tests and the scripts: run a command to completion, start a node and
 * read its JSON log lines, ask its RPC, stop it with a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSignerStateFile } from '@synod/storage';
import { afterAll, beforeAll } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `synodd args…` to completion. */
export async function synodd(args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A temporary folder, removed by the returned function. */
/** The height in a home's signer state file (data/priv_validator_state.json). */
export async function signedHeight(home: string): Promise<number> {
  const file = decodeSignerStateFile(await readFile(join(home, 'data/priv_validator_state.json')));
  if (typeof file === 'string') throw new Error(`signer state of ${home}: ${file}`);
  return file.state.height;
}

export async function tempDir(prefix = 'synodd-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** `n` TCP ports free on 127.0.0.1 right now (asked of the OS). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A running synodd (start). */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [CLI, 'start', '--log_format', 'json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // SYNOD_E2E_LOGS=<folder>: every node's raw output is also appended to <folder>/<home>.log, so a
    // failed long run can be read afterwards (the lines are otherwise only in memory).
    const logDir = process.env.SYNOD_E2E_LOGS;
    const homeAt = args.indexOf('--home');
    const home = homeAt >= 0 ? args[homeAt + 1] : undefined;
    const logFile =
      logDir === undefined || logDir === '' ? undefined : join(logDir, `${basename(home ?? 'synodd')}.log`);
    const tee = (d: Buffer): void => {
      if (logFile !== undefined) appendFileSync(logFile, d);
    };
    let pending = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      tee(d);
      pending += d.toString();
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          continue;
        }
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      tee(d);
      this.stderr += d.toString();
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  /** The first log line (past or future) that passes `test`. */
  waitForLine(test: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.#waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then((code) =>
        reject(new Error(`synodd exited (${code}) before the log line; stderr: ${this.stderr}`)),
      );
    });
  }

  /** Sends `signal`; resolves with the exit code and how long the exit took. */
  /** True once `stop` was called: an exit before that is the node's own (a crash, a refused start). */
  stopAsked = false;

  /** Exited without `stop` being asked: what it printed on stderr, else undefined. */
  unexpectedExit(): string | undefined {
    if (this.stopAsked || (this.child.exitCode === null && this.child.signalCode === null)) return undefined;
    return `synodd exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderr.trim()}`;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> {
    const t0 = performance.now();
    this.stopAsked = true;
    this.child.kill(signal);
    const code = await this.exited;
    return { code, ms: performance.now() - t0 };
  }
}

/** A JSON-RPC call over HTTP POST; returns `result` (throws on an error). */
export async function rpc<T = unknown>(port: number, method: string, params: unknown = {}): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string; data?: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message} ${body.error.data ?? ''}`);
  return body.result as T;
}

export interface Status {
  node_info: { id: string; network: string; moniker: string };
  sync_info: {
    latest_block_height: string;
    latest_block_hash: string;
    latest_app_hash: string;
    latest_block_time: string;
    catching_up: boolean;
  };
  validator_info: { address: string; voting_power: string };
}

/** Polls `status` until `test` passes. */
export async function waitForStatus(
  port: number,
  test: (s: Status) => boolean,
  timeoutMs = 20_000,
): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const s = await rpc<Status>(port, 'status');
      if (test(s)) return s;
      last = s.sync_info.latest_block_height;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`status did not reach the condition in ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const heightOf = (s: Status): number => Number(s.sync_info.latest_block_height);

/** The start flags of a node on its own free ports (p2p, RPC, metrics). */
export async function portFlags(): Promise<{ flags: string[]; p2p: number; rpc: number; metrics: number }> {
  const [p2p, rpcPort, metrics] = (await freePorts(3)) as [number, number, number];
  return {
    p2p,
    rpc: rpcPort,
    metrics,
    flags: [
      '--p2p.laddr',
      `tcp://127.0.0.1:${p2p}`,
      '--rpc.laddr',
      `tcp://127.0.0.1:${rpcPort}`,
      '--instrumentation.prometheus_listen_addr',
      `127.0.0.1:${metrics}`,
    ],
  };
}

/** A base port such that `nodes` testnet nodes (p2p, RPC, metrics at +0, +1, +4, step 10) find their ports free. */
export async function freeBasePort(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 10 * Math.floor(Math.random() * 3000);
    const ports = Array.from({ length: nodes }, (_, i) => [
      base + 10 * i,
      base + 10 * i + 1,
      base + 10 * i + 4,
    ]).flat();
    const servers: ReturnType<typeof createServer>[] = [];
    let ok = true;
    for (const port of ports) {
      const s = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, '127.0.0.1', () => resolve());
        });
        servers.push(s);
      } catch {
        ok = false;
        break;
      }
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
  throw new Error('no free port range');
}

/** Height → block hash of every block a node executed (its `executed block` debug lines). */
export function executedBlocks(node: NodeProcess): Map<number, string> {
  const out = new Map<number, string>();
  for (const l of node.lines)
    if (l.msg === 'executed block' && typeof l.height === 'number') out.set(l.height, String(l.hash));
  return out;
}

/** The highest executed height in a node's log (0 when none). */
export function lastHeight(node: NodeProcess): number {
  let h = 0;
  for (const l of node.lines)
    if (l.msg === 'executed block' && typeof l.height === 'number' && l.height > h) h = l.height;
  return h;
}

/** Waits until `test()` holds, polling every 100 ms. */
export async function until(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Polls `test` (async) every `everyMs` until it holds; a throw counts as "not yet" (its message is
 * in the timeout's). Fails at once when one of `watch` exited without its `stop` being asked.
 */
export async function eventually(
  test: () => Promise<boolean>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number; watch?: readonly NodeProcess[] } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    for (const n of options.watch ?? []) {
      const exit = n.unexpectedExit();
      if (exit !== undefined) throw new Error(`while waiting for ${what}: ${exit}`);
    }
    try {
      if (await test()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 250));
  }
}

/**
 * The usual frame of a test file that runs synodd processes: a temporary folder made before the
 * tests and removed after them, and `start(args)` for a NodeProcess that is SIGKILLed at the end
 * if it still runs. Call it at the top of the file (it registers beforeAll/afterAll).
 */
export function processGroup(): { dir: () => string; start: (args: readonly string[]) => NodeProcess } {
  let folder: Awaited<ReturnType<typeof tempDir>> | undefined;
  const running: NodeProcess[] = [];
  beforeAll(async () => {
    folder = await tempDir();
  });
  afterAll(async () => {
    for (const n of running)
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await folder?.remove();
  });
  return {
    dir: () => {
      if (folder === undefined) throw new Error('processGroup: the folder is made in beforeAll');
      return folder.path;
    },
    start: (args) => {
      const n = new NodeProcess(args);
      running.push(n);
      return n;
    },
  };
}
