/**
 * Single-node figures of the real binary (build first: pnpm --filter
 * @synod/node-daemon build): time from spawn to the first block, blocks per
 * second over a window, and the time from SIGTERM to exit. Prints numbers;
 * asserts nothing.
 *
 *   pnpm --filter @synod/node-daemon bench [--seconds 10] [--runs 3]
 */
import { join } from 'node:path';
import {
  heightOf,
  NodeProcess,
  portFlags,
  rpc,
  type Status,
  synodd,
  tempDir,
  waitForStatus,
} from '../test/e2e/harness.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const seconds = arg('seconds', 10);
const runs = arg('runs', 3);
const dir = await tempDir('synodd-bench-');
console.log(`synodd single node, ${runs} runs, ${seconds} s each (Node ${process.version})`);
console.log('run  first block (ms from spawn)  blocks/s  SIGTERM to exit (ms)');
try {
  for (let run = 0; run < runs; run++) {
    const home = join(dir.path, `n${run}`);
    const init = await synodd(['init', '--home', home, '--chain-id', 'bench']);
    if (init.code !== 0) throw new Error(init.stderr);
    const ports = await portFlags();
    const t0 = performance.now();
    const node = new NodeProcess(['--home', home, ...ports.flags, '--log_level', 'warn']);
    await waitForStatus(ports.rpc, (s) => heightOf(s) >= 1, 30_000);
    const firstBlockMs = performance.now() - t0;
    const h0 = heightOf(await rpc<Status>(ports.rpc, 'status'));
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const h1 = heightOf(await rpc<Status>(ports.rpc, 'status'));
    const rate = (h1 - h0) / ((performance.now() - w0) / 1000);
    const stop = await node.stop('SIGTERM');
    if (stop.code !== 0) throw new Error(`exit code ${stop.code}: ${node.stderr}`);
    console.log(
      `${String(run + 1).padEnd(5)}${firstBlockMs.toFixed(0).padEnd(30)}${rate.toFixed(2).padEnd(10)}${stop.ms.toFixed(0)}`,
    );
  }
} finally {
  await dir.remove();
}
