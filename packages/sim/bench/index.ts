/**
 * Simulated heights per second: whole runs (safety and liveness phases) of
 * @synod/node nodes, for 4, 10 and 100 validators, faults off and on, with
 * real Ed25519 signatures and with the fast stand-in, with the transaction
 * workload (the default) and without. Every run is also checked: a failing
 * run is reported (it still counts its heights). A run lasts at least safety
 * heights + 15 (past the first downtime window).
 */
import '@synod/polyfills';
import { runSimulation, type SimOptions } from '../src/index.js';

interface Case {
  readonly name: string;
  readonly options: Omit<SimOptions, 'seed'>;
  readonly seeds: number;
}

const quick = process.argv.includes('--quick');
const cases: Case[] = [];
for (const workload of [true, false] as const)
  for (const signatures of ['ed25519', 'fast'] as const) {
    const tag = `${workload ? 'workload' : 'no workload'}, ${signatures}`;
    cases.push(
      {
        name: `4 validators, no faults, no Byzantine, ${tag}`,
        options: {
          workload,
          validators: 4,
          byzantine: 0,
          faults: false,
          heights: quick ? 100 : 400,
          signatures,
        },
        seeds: 3,
      },
      {
        name: `4 validators, Byzantine + faults, ${tag}`,
        options: { workload, validators: 4, signatures },
        seeds: quick ? 10 : 40,
      },
      {
        name: `10 validators, no faults, no Byzantine, ${tag}`,
        options: {
          workload,
          validators: 10,
          byzantine: 0,
          faults: false,
          heights: quick ? 30 : 100,
          signatures,
        },
        seeds: 2,
      },
      {
        name: `10 validators, Byzantine + faults, ${tag}`,
        options: { workload, validators: 10, heights: 8, signatures },
        seeds: quick ? 3 : 10,
      },
      {
        name: `100 validators, no faults, no Byzantine, ${tag}`,
        options: {
          workload,
          validators: 100,
          byzantine: 0,
          faults: false,
          heights: quick ? 3 : 10,
          livenessHeights: 2,
          signatures,
        },
        seeds: 1,
      },
    );
  }

// 100 nodes in one process are slow (each block updates every validator's downtime window in each
// ledger): one signature scheme, with the workload, is enough there.
// `--targets`: only the cases issue #16's targets are stated for (no faults, no Byzantine validator,
// the workload, Ed25519), optionally `--validators 4,10` of them.
const targets = process.argv.includes('--targets');
const vArg = process.argv.indexOf('--validators');
const only = vArg < 0 ? undefined : new Set((process.argv[vArg + 1] ?? '').split(',').map(Number));
const skipped = (c: Case): boolean =>
  (c.options.validators === 100 && (c.options.signatures === 'fast' || c.options.workload === false)) ||
  (targets &&
    (c.options.faults !== false ||
      c.options.byzantine !== 0 ||
      c.options.workload !== true ||
      c.options.signatures !== 'ed25519')) ||
  (only !== undefined && !only.has(typeof c.options.validators === 'number' ? c.options.validators : 4));

const pad = (s: string, n: number): string => s.padEnd(n);
// Heights per second of wall time, and per second of this process's CPU time (user + system): on a
// shared machine the second is the one that does not depend on what else runs.
console.log(
  `${pad('case', 66)} ${pad('heights/s', 10)} ${pad('h/CPU-s', 8)} ${pad('CPU-ms/h', 9)} ${pad('heights', 8)} ${pad('wall', 8)} failed`,
);
for (const c of cases.filter((x) => !skipped(x))) {
  let heights = 0;
  let failed = 0;
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let seed = 1; seed <= c.seeds; seed++) {
    const r = await runSimulation({ ...c.options, seed });
    heights += r.stats.heights;
    if (!r.ok) failed++;
  }
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const cpuS = (used.user + used.system) / 1e6;
  console.log(
    `${pad(c.name, 66)} ${pad((heights / (ms / 1000)).toFixed(heights / (ms / 1000) < 10 ? 2 : 0), 10)} ${pad((heights / cpuS).toFixed(heights / cpuS < 10 ? 2 : 0), 8)} ${pad(((cpuS * 1000) / heights).toFixed(2), 9)} ${pad(String(heights), 8)} ${pad(`${(ms / 1000).toFixed(1)}s`, 8)} ${failed}`,
  );
}
