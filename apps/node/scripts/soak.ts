/**
 * Soak: a 4-validator testnet of real synodd processes on 127.0.0.1 for a
 * while (default 10 minutes), printing every `--every` seconds each node's
 * height, the block interval since the last line and each node's RSS (from
 * its own metrics, process_resident_memory_bytes). Not part of the test
 * run. Build first (pnpm --filter @synod/node-daemon build).
 *
 *   pnpm --filter @synod/node-daemon soak [--minutes 10] [--every 30] [--validators 4]
 */
import { join } from 'node:path';
import {
  freeBasePort,
  heightOf,
  NodeProcess,
  rpc,
  type Status,
  synodd,
  tempDir,
} from '../test/e2e/harness.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const minutes = arg('minutes', 10);
const every = arg('every', 30);
const validators = arg('validators', 4);
const dir = await tempDir('synodd-soak-');
const base = await freeBasePort(validators);
const out = join(dir.path, 'net');
const written = await synodd([
  'testnet',
  '--validators',
  String(validators),
  '--out',
  out,
  '--base-port',
  String(base),
  '--chain-id',
  'soak',
]);
if (written.code !== 0) throw new Error(written.stderr);
const nodes = Array.from(
  { length: validators },
  (_, i) => new NodeProcess(['--home', join(out, `node${i}`), '--log_level', 'warn']),
);
const rpcPort = (i: number): number => base + 10 * i + 1;
const metricsPort = (i: number): number => base + 10 * i + 4;

async function rssMiB(i: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort(i)}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return m === null ? Number.NaN : Number(m[1]) / 2 ** 20;
}

console.log(
  `soak: ${validators} validators for ${minutes} min, a line every ${every} s (Node ${process.version})`,
);
console.log(`time(s)  heights${' '.repeat(Math.max(0, validators * 7 - 7))}  interval(ms)  RSS MiB per node`);
const t0 = Date.now();
let last: { t: number; h: number } | undefined;
let stopped = false;
const stopAll = async (): Promise<void> => {
  if (stopped) return;
  stopped = true;
  const codes = await Promise.all(nodes.map((n) => n.stop('SIGTERM')));
  console.log(
    `stopped: exit codes ${codes.map((c) => c.code).join(', ')}, slowest exit ${Math.max(...codes.map((c) => c.ms)).toFixed(0)} ms`,
  );
  await dir.remove();
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
try {
  while (Date.now() - t0 < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, every * 1000));
    const heights = await Promise.all(
      nodes.map((_, i) => rpc<Status>(rpcPort(i), 'status').then(heightOf, () => Number.NaN)),
    );
    const rss = await Promise.all(nodes.map((_, i) => rssMiB(i).catch(() => Number.NaN)));
    const t = Date.now();
    const h = Math.max(...heights.filter((x) => !Number.isNaN(x)));
    const interval = last === undefined || h === last.h ? Number.NaN : (t - last.t) / (h - last.h);
    last = { t, h };
    console.log(
      `${((t - t0) / 1000).toFixed(0).padEnd(9)}${heights.map((x) => String(x).padEnd(7)).join('')}  ${Number.isNaN(interval) ? '-' : interval.toFixed(0)}`.padEnd(
        20 + validators * 7,
      ) + rss.map((x) => x.toFixed(0).padEnd(6)).join(''),
    );
  }
} finally {
  await stopAll();
}
