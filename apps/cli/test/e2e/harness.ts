/**
 * Runs the built `synod` (dist/cli.js) as a user would, with its own
 * SYNOD_HOME, and a real single-node chain: `synodd testnet --validators 1`
 * (a home like `init` writes, plus funded account keys) started on free
 * ports with synodd's own e2e harness.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freeBasePort,
  NodeProcess,
  type RunResult,
  synodd,
  tempDir,
  waitForStatus,
} from '../../../node/test/e2e/harness.js';

export { freeBasePort, tempDir };

export const SYNOD = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Runs `synod args…` to completion with `env` added (SYNOD_HOME …) and `input` on stdin. */
export async function synod(
  args: readonly string[],
  o: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = spawn(process.execPath, [SYNOD, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...o.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(o.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A one-validator chain with `accounts` funded accounts, running. */
export interface SingleNode {
  readonly dir: string;
  readonly rpc: string;
  readonly rpcPort: number;
  readonly keysDir: string;
  readonly node: NodeProcess;
  stop(): Promise<void>;
}

export async function startSingleNode(accounts = 3): Promise<SingleNode> {
  const tmp = await tempDir('synod-cli-e2e-');
  const base = await freeBasePort(1);
  const out = join(tmp.path, 'net');
  const made = await synodd([
    'testnet',
    '--validators',
    '1',
    '--out',
    out,
    '--chain-id',
    'cli-e2e',
    '--base-port',
    String(base),
    '--accounts',
    String(accounts),
  ]);
  if (made.code !== 0) throw new Error(`synodd testnet failed: ${made.stderr}`);
  const node = new NodeProcess(['--home', join(out, 'node0')]);
  const rpcPort = base + 1;
  await waitForStatus(rpcPort, (s) => Number(s.sync_info.latest_block_height) >= 1, 30_000);
  return {
    dir: tmp.path,
    rpc: `http://127.0.0.1:${rpcPort}`,
    rpcPort,
    keysDir: join(out, 'keys'),
    node,
    stop: async () => {
      await node.stop();
      await tmp.remove();
    },
  };
}

/** The one line a failing command printed on stderr (asserting there is exactly one). */
export function oneLine(r: RunResult): string {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}: ${r.stderr}`);
  return lines[0] as string;
}
