/**
 * A local network: `synodd testnet` homes in a folder, one real `synodd
 * start` process per node, and a state file (DIR/localnet.json) that the
 * detached commands (`status`, `logs`, `down`) read. A pointer at
 * $SYNOD_HOME/localnet.json remembers the last network started.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CliError } from '../errors.js';
import { synodHome } from '../keys/keyring.js';

/** synodd's testnet layout: node i listens on base + 10 i (p2p), + 1 (RPC), + 4 (metrics). */
export const PORT_STEP = 10;
export const RPC_OFFSET = 1;
export const METRICS_OFFSET = 4;
export const DEFAULT_BASE_PORT = 26656;
export const DEFAULT_CHAIN_ID = 'localnet';
/** Funded accounts written by default: enough for `synod load` to keep 200 tx/s in flight at a few seconds of latency. */
export const DEFAULT_ACCOUNTS = 64;

export interface LocalnetNode {
  readonly name: string;
  readonly home: string;
  readonly rpc: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
  readonly metricsPort: number;
  readonly log: string;
  pid?: number;
}

export interface LocalnetState {
  readonly version: 1;
  readonly dir: string;
  /** A temporary folder made by `up`: `down` removes it (unless --keep). */
  readonly temporary: boolean;
  readonly chainId: string;
  readonly basePort: number;
  readonly validators: number;
  readonly accounts: number;
  detached: boolean;
  readonly synodd: string;
  readonly nodes: LocalnetNode[];
}

const STATE_FILE = 'localnet.json';
const pointerPath = (): string => join(synodHome(), 'localnet.json');

/** Where synodd's binary is: $SYNODD_BIN, else the workspace dependency's dist/cli.js. */
export function synoddPath(): string {
  const env = process.env.SYNODD_BIN;
  if (env !== undefined && env !== '') return resolve(env);
  const here = fileURLToPath(import.meta.url); // apps/cli/dist/localnet/net.js (or src/ in tests)
  const candidates = [
    join(here, '../../../node_modules/@synod/node-daemon/dist/cli.js'),
    join(here, '../../../../node/dist/cli.js'),
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new CliError(
    'LOCALNET',
    `synodd is not built (looked for ${candidates[1]}): run \`pnpm build\` (or \`pnpm localnet\`, which builds first)`,
  );
}

const run = promisify(execFile);

/** Runs synodd to completion; its one-line error becomes LOCALNET's. */
async function synodd(bin: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [bin, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const line = (e.stderr ?? '').trim().split('\n').at(-1) || e.message;
    throw new CliError('LOCALNET', `synodd ${args[0]} failed: ${line}`);
  }
}

/** Throws LOCALNET naming the first of `ports` that cannot be bound on 127.0.0.1. */
export async function checkPortsFree(ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    const s = createServer();
    try {
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(port, '127.0.0.1', () => res());
      });
    } catch (err) {
      throw new CliError(
        'LOCALNET',
        `port ${port} on 127.0.0.1 is in use (${(err as NodeJS.ErrnoException).code}): another localnet or node? (\`synod localnet down\`, or --base-port)`,
      );
    } finally {
      await new Promise((r) => s.close(r));
    }
  }
}

export function nodePorts(n: LocalnetNode): number[] {
  return [n.p2pPort, n.rpcPort, n.metricsPort];
}

export async function saveState(s: LocalnetState): Promise<void> {
  await writeFile(join(s.dir, STATE_FILE), `${JSON.stringify(s, null, 2)}\n`);
  await mkdir(synodHome(), { recursive: true, mode: 0o700 });
  await writeFile(pointerPath(), `${JSON.stringify({ dir: s.dir }, null, 2)}\n`);
}

/** The network in `dir`, or the last one started (the pointer); LOCALNET when there is none. */
export async function loadState(dir?: string): Promise<LocalnetState> {
  let d = dir;
  if (d === undefined) {
    try {
      d = (JSON.parse(await readFile(pointerPath(), 'utf8')) as { dir: string }).dir;
    } catch {
      throw new CliError(
        'LOCALNET',
        `no local network was started (no ${pointerPath()}); start one with \`synod localnet\``,
      );
    }
  }
  try {
    return JSON.parse(await readFile(join(d, STATE_FILE), 'utf8')) as LocalnetState;
  } catch {
    throw new CliError('LOCALNET', `no local network in ${d} (no ${STATE_FILE})`);
  }
}

export async function clearPointer(dir: string): Promise<void> {
  try {
    const p = JSON.parse(await readFile(pointerPath(), 'utf8')) as { dir: string };
    if (p.dir === dir) await rm(pointerPath(), { force: true });
  } catch {
    // no pointer
  }
}

export interface CreateOptions {
  readonly validators: number;
  readonly dir?: string;
  readonly basePort: number;
  readonly accounts: number;
  readonly chainId: string;
}

/**
 * A network in `dir` (reused when it holds one; else written with `synodd
 * testnet`), or in a new temporary folder.
 */
export async function createNet(o: CreateOptions): Promise<{ state: LocalnetState; reused: boolean }> {
  const bin = synoddPath();
  if (o.dir !== undefined && existsSync(join(o.dir, STATE_FILE))) {
    const state = await loadState(resolve(o.dir));
    return { state, reused: true };
  }
  const layout = (dir: string): LocalnetNode[] =>
    Array.from({ length: o.validators }, (_, i) => {
      const p2pPort = o.basePort + PORT_STEP * i;
      return {
        name: `node${i}`,
        home: join(dir, `node${i}`),
        rpc: `http://127.0.0.1:${p2pPort + RPC_OFFSET}`,
        p2pPort,
        rpcPort: p2pPort + RPC_OFFSET,
        metricsPort: p2pPort + METRICS_OFFSET,
        log: join(dir, `node${i}.log`),
      };
    });
  // the ports first: a refused start leaves nothing behind
  await checkPortsFree(layout('').flatMap(nodePorts));
  let dir: string;
  let temporary = false;
  if (o.dir === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'synod-localnet-'));
    temporary = true;
  } else {
    dir = resolve(o.dir);
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0)
      throw new CliError(
        'LOCALNET',
        `--dir ${dir} is not empty and holds no local network: choose an empty or new folder`,
      );
  }
  const nodes = layout(dir);
  try {
    await synodd(bin, [
      'testnet',
      '--validators',
      String(o.validators),
      '--out',
      dir,
      '--chain-id',
      o.chainId,
      '--base-port',
      String(o.basePort),
      '--accounts',
      String(o.accounts),
    ]);
  } catch (err) {
    if (temporary) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const state: LocalnetState = {
    version: 1,
    dir,
    temporary,
    chainId: o.chainId,
    basePort: o.basePort,
    validators: o.validators,
    accounts: o.accounts,
    detached: false,
    synodd: bin,
    nodes,
  };
  await saveState(state);
  return { state, reused: false };
}

/** Starts `synodd start` for a node, its output appended to its log file. */
export async function startNode(state: LocalnetState, i: number, detached: boolean): Promise<ChildProcess> {
  const n = state.nodes[i] as LocalnetNode;
  const log = await open(n.log, 'a');
  try {
    const child = spawn(process.execPath, [state.synodd, 'start', '--home', n.home, '--log_format', 'json'], {
      stdio: ['ignore', log.fd, log.fd],
      detached,
    });
    await Promise.race([
      once(child, 'spawn'),
      once(child, 'error').then(([e]) => {
        throw new CliError('LOCALNET', `cannot start ${n.name}: ${(e as Error).message}`);
      }),
    ]);
    if (detached) child.unref();
    n.pid = child.pid;
    return child;
  } finally {
    await log.close();
  }
}

/** True when `pid` is alive and is synodd running `home` (so a reused pid is never signalled). */
export async function isOurProcess(pid: number | undefined, home: string): Promise<boolean> {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    try {
      cmdline = (await run('ps', ['-p', String(pid), '-o', 'args='])).stdout;
    } catch {
      return false;
    }
  }
  return cmdline.includes(home) && cmdline.includes(' start');
}

/** Sends `signal` to a detached node's process if it is ours. */
export async function signalNode(n: LocalnetNode, signal: NodeJS.Signals): Promise<boolean> {
  if (!(await isOurProcess(n.pid, n.home))) return false;
  try {
    process.kill(n.pid as number, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone (polling), up to `ms`. */
export async function waitGone(n: LocalnetNode, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await isOurProcess(n.pid, n.home))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !(await isOurProcess(n.pid, n.home));
}

/** The last `lines` lines of a node's log. */
export async function tailLog(n: LocalnetNode, lines: number): Promise<string[]> {
  let text: string;
  try {
    const fh = await open(n.log, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 256 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .slice(-lines);
}

/** A JSON log line of synodd as one short line of text. */
export function formatLogLine(line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { time, level, msg, module, pid: _p, hostname: _h, ...rest } = o;
    const iso = typeof time === 'number' ? new Date(time).toISOString() : String(time ?? '');
    const t = /^\d{4}-\d\d-\d\dT/.test(iso) ? iso.slice(11, 23) : iso;
    const names: Record<number, string> = {
      10: 'trace',
      20: 'debug',
      30: 'info',
      40: 'warn',
      50: 'error',
      60: 'fatal',
    };
    const lvl = typeof level === 'number' ? (names[level] ?? String(level)) : String(level ?? '');
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${t} ${lvl.padEnd(5)} ${module === undefined ? '' : `[${String(module)}] `}${String(msg ?? '')}${extra ? ` ${extra}` : ''}`;
  } catch {
    return line;
  }
}
