/**
 * The shipped alerting rules in a real Prometheus server (Debian's
 * `prometheus` package: `apt-get install prometheus`) scraping a running
 * 4-validator testnet of real synodd processes (1 s scrape and evaluation
 * intervals): the rules load healthy; a node stopped makes SynodNodeDown
 * fire for its instance (after the rule's `for: 1m`), read from
 * Prometheus's own HTTP API; restarted, the alert resolves.
 *
 * Long (about two minutes): `pnpm --filter @synod/node-daemon test:long`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freeBasePort,
  freePorts,
  lastHeight,
  NodeProcess,
  eventually as poll,
  synodd,
  tempDir,
  until,
} from '../e2e/harness.js';

const ALERTS = fileURLToPath(new URL('../../monitoring/alerts.yml', import.meta.url));

let dir: Awaited<ReturnType<typeof tempDir>>;
const running: NodeProcess[] = [];
let prometheus: ChildProcess | undefined;

beforeAll(async () => {
  dir = await tempDir('synod-prometheus-');
});
afterAll(async () => {
  for (const n of running)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
  if (prometheus !== undefined && prometheus.exitCode === null) {
    prometheus.kill('SIGTERM');
    await once(prometheus, 'exit');
  }
  await dir.remove();
});

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

async function api<T>(port: number, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
  return body.data;
}

/** Polls every 500 ms (Prometheus evaluates each second), failing at once if a node crashed. */
const eventually = (test: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> =>
  poll(test, what, { timeoutMs, everyMs: 500, watch: running });

describe('alerting rules in a real Prometheus', () => {
  it('SynodNodeDown fires for a stopped node and resolves when it is back', async () => {
    // Fails (not skips) without the server: CI installs Debian's prometheus package.
    const version = execFileSync('prometheus', ['--version'], { encoding: 'utf8' });
    expect(version).toMatch(/prometheus, version \d/);

    const base = await freeBasePort(4);
    const out = join(dir.path, 'net');
    const made = await synodd([
      'testnet',
      '--validators',
      '4',
      '--out',
      out,
      '--chain-id',
      'e2e-prom',
      '--base-port',
      String(base),
    ]);
    expect(made.code, made.stderr).toBe(0);
    const metricsAddr = (i: number): string => `127.0.0.1:${base + 10 * i + 4}`;
    const start = (i: number): NodeProcess => {
      const n = new NodeProcess(['--home', join(out, `node${i}`), '--log_level', 'daemon:debug,*:info']);
      running.push(n);
      return n;
    };
    const nodes = [0, 1, 2, 3].map(start);
    await until(() => nodes.every((n) => lastHeight(n) >= 2), 'four validators at height 2', 60_000);

    const [webPort] = (await freePorts(1)) as [number];
    const config = join(dir.path, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 900ms',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(ALERTS)}`,
        'scrape_configs:',
        '  - job_name: synod',
        '    static_configs:',
        `      - targets: [${[0, 1, 2, 3].map((i) => JSON.stringify(metricsAddr(i))).join(', ')}]`,
        '',
      ].join('\n'),
    );
    let promLog = '';
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir.path, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr?.on('data', (d: Buffer) => {
      promLog += d.toString();
    });

    // Every target up, the rules loaded and healthy, nothing firing.
    await eventually(
      async () => {
        const t = await api<{ activeTargets: { health: string }[] }>(webPort, '/api/v1/targets');
        return t.activeTargets.length === 4 && t.activeTargets.every((x) => x.health === 'up');
      },
      `four targets up (prometheus: ${promLog})`,
      60_000,
    );
    const rules = await api<{ groups: { name: string; rules: { name: string; health: string }[] }[] }>(
      webPort,
      '/api/v1/rules',
    );
    const group = rules.groups.find((g) => g.name === 'synod-node');
    expect(group?.rules.length).toBe(14);
    await eventually(
      async () =>
        (await api<{ groups: { rules: { health: string }[] }[] }>(webPort, '/api/v1/rules')).groups.every(
          (g) => g.rules.every((r) => r.health === 'ok'),
        ),
      'every rule evaluated healthy',
      30_000,
    );
    const downFor = async (instance: string): Promise<PromAlert | undefined> =>
      (await api<{ alerts: PromAlert[] }>(webPort, '/api/v1/alerts')).alerts.find(
        (a) => a.labels.alertname === 'SynodNodeDown' && a.labels.instance === instance,
      );
    expect(await downFor(metricsAddr(2))).toBeUndefined();

    // Stop node2: its SynodNodeDown goes pending, then fires (for: 1m).
    expect((await nodes[2]?.stop('SIGTERM'))?.code).toBe(0);
    await eventually(async () => (await downFor(metricsAddr(2)))?.state === 'pending', 'pending', 30_000);
    await eventually(async () => (await downFor(metricsAddr(2)))?.state === 'firing', 'firing', 120_000);
    const firing = await downFor(metricsAddr(2));
    expect(firing?.labels).toMatchObject({ job: 'synod', severity: 'critical' });
    // Only the stopped node's: the others answer.
    for (const i of [0, 1, 3]) expect(await downFor(metricsAddr(i))).toBeUndefined();
    const up = await api<{ result: { metric: { instance: string }; value: [number, string] }[] }>(
      webPort,
      `/api/v1/query?query=${encodeURIComponent('up{job="synod"}')}`,
    );
    expect(up.result.find((r) => r.metric.instance === metricsAddr(2))?.value[1]).toBe('0');

    // Restart it: the alert resolves.
    nodes[2] = start(2);
    await eventually(async () => (await downFor(metricsAddr(2))) === undefined, 'resolved', 60_000);
    // And the chain was never stalled: no SynodChainStalled anywhere.
    const all = await api<{ alerts: PromAlert[] }>(webPort, '/api/v1/alerts');
    expect(all.alerts.filter((a) => a.labels.alertname === 'SynodChainStalled')).toEqual([]);

    const stops = await Promise.all(nodes.map((n) => n.stop('SIGTERM')));
    expect(stops.map((s) => s.code)).toEqual([0, 0, 0, 0]);
  });
});
