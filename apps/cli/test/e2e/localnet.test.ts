/**
 * `synod localnet up --detach`: four real synodd processes commit blocks;
 * `status` sees them; `down` leaves no process and no port behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBasePort, synod, tempDir } from './harness.js';

interface StatusJson {
  dir: string;
  nodes: {
    name: string;
    pid: number;
    running: boolean;
    rpc: string;
    state: string;
    height?: number;
    votingPower?: number;
  }[];
}

let home: { path: string; remove: () => Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  home = await tempDir('synod-localnet-home-');
  env = { SYNOD_HOME: home.path };
});

afterAll(async () => {
  // whatever happened, leave nothing running
  await synod(['localnet', 'down'], { env });
  await home.remove();
});

/** A process that runs (an exited one its parent has not reaped yet, a zombie, does not count). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) STATE …"
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

describe('localnet --detach', () => {
  it('up: four processes commit; down: no process or port left', async () => {
    const base = await freeBasePort(4);
    const up = await synod(
      ['localnet', 'up', '--detach', '--validators', '4', '--base-port', String(base), '--accounts', '4'],
      {
        env,
        timeoutMs: 90_000,
      },
    );
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('4 synodd processes committing blocks on chain localnet');

    // every node is a validator, and the chain keeps committing
    let status: StatusJson | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await synod(['localnet', 'status', '--output', 'json'], { env });
      expect(r.code, r.stderr).toBe(0);
      status = JSON.parse(r.stdout) as StatusJson;
      if (status.nodes.every((n) => (n.height ?? 0) >= 3)) break;
      if (Date.now() > deadline) throw new Error(`heights: ${status.nodes.map((n) => n.height).join(', ')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(status.nodes.map((n) => n.name)).toEqual(['node0', 'node1', 'node2', 'node3']);
    for (const n of status.nodes) expect(n).toMatchObject({ running: true, state: 'ok', votingPower: 10 });
    const pids = status.nodes.map((n) => n.pid);
    expect(pids.every(alive)).toBe(true);
    const ports = [0, 1, 2, 3].flatMap((i) => [base + 10 * i, base + 10 * i + 1, base + 10 * i + 4]);
    expect(await Promise.all(ports.map(portFree))).toEqual(ports.map(() => false));

    // `synod load` against it: every transfer committed, sent as JSON-RPC batches (fewer requests than
    // transactions: 800 tx/s is 16 per 20 ms tick, 4 per node)
    const load = await synod(
      ['load', '--rate', '800', '--duration', '1s', '--drain', '30s', '--output', 'json'],
      {
        env,
        timeoutMs: 60_000,
      },
    );
    expect(load.code, load.stderr).toBe(0);
    const report = JSON.parse(load.stdout) as { submitted: number; committed: number; requests: number };
    expect(report.submitted).toBeGreaterThan(0);
    expect(report.committed).toBe(report.submitted);
    expect(report.requests).toBeGreaterThan(0);
    expect(report.requests).toBeLessThan(report.submitted);

    // a second `up` on the same ports is refused with one line, and leaves no folder behind
    const folders = async (): Promise<number> =>
      (await readdir(tmpdir())).filter((f) => f.startsWith('synod-localnet-')).length;
    const before = await folders();
    const again = await synod(['localnet', 'up', '--detach', '--base-port', String(base)], { env });
    expect(again.code).toBe(8);
    expect(again.stderr.trim()).toMatch(
      new RegExp(`^synod: LOCALNET: port ${base} on 127\\.0\\.0\\.1 is in use`),
    );
    expect(await folders()).toBe(before);

    const logs = await synod(['localnet', 'logs', 'node1', '-n', '5'], { env });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/info/);

    const down = await synod(['localnet', 'down'], { env, timeoutMs: 60_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain('node3 stopped');
    expect(pids.some(alive)).toBe(false);
    expect(await Promise.all(ports.map(portFree))).toEqual(ports.map(() => true));
    expect(existsSync(status.dir)).toBe(false);

    const after = await synod(['localnet', 'status'], { env });
    expect(after.code).toBe(8);
    expect(after.stderr.trim()).toMatch(/^synod: LOCALNET: no local network was started/);
  }, 120_000);
});
