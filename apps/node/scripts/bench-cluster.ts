/**
 * `pnpm bench:cluster [--quick] [--output json] [--blocks N] [--sync-blocks N] [--keep]`:
 * the chain measured on this machine against the machine's own limit, with
 * real `synodd` processes on 127.0.0.1 from a fresh `synodd testnet` (the
 * root script builds synodd and synod first, then runs this on their dist/).
 *
 *  1. verify bound: Ed25519 verifications/s with node:crypto on every core
 *     (worker_threads), ÷ validators;
 *  2. a 4-validator chain (`timeout_commit = 0`, one follower not started):
 *     RSS after warm-up, the empty-block interval p50 (NewBlockHeader
 *     arrivals at node0), RSS after `--blocks` blocks;
 *  3. submit→commit latency at 1,000 tx/s offered (`synod load`: each tx
 *     hash seen in a NewBlock event);
 *  4. saturation: the validators restarted with `--cpu-prof`, `synod load`
 *     offering more than the chain commits; committed tx/s; the top five
 *     functions' self-time share over the four profiles;
 *  5. block sync: the follower started fresh, catching up the empty blocks
 *     (blocks/s over the first `--sync-blocks`), then the blocks with txs;
 *  6. a 10-validator chain (`timeout_commit = 0`): the empty-block interval p50.
 *
 * Every process it starts is stopped at the end, on a failure and on Ctrl-C.
 * Prints the machine, the load average beside each figure, and one table
 * (figure, value, target, met); `--output json` prints the same as JSON.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  blockStats,
  freshPortsIfTaken,
  HeaderWatch,
  heightOf,
  type LoadResult,
  runLoad,
  Synodd,
  stopEverything,
  type Testnet,
  waitHeight,
  writeTestnet,
} from './bench-cluster/cluster.js';
import {
  BLOCK_PHASES,
  blockPhases,
  type HotFunction,
  load1,
  machine,
  percentile,
  topFunctions,
  txGossip,
  verifyBound,
} from './bench-cluster/measure.js';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
function num(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`bench:cluster: --${name} ${argv[i + 1]}: expected a non-negative number`);
    process.exit(2);
  }
  return v;
}
const outputIndex = argv.indexOf('--output');
const json = outputIndex >= 0 && argv[outputIndex + 1] === 'json';
const quick = flag('quick');
const keep = flag('keep');
/** `--only a,b`: run only these scenarios (the 4-validator chain runs whenever a later one needs its blocks). */
const SCENARIOS = ['verify', 'empty', 'latency', 'saturation', 'sync', 'large'] as const;
type Scenario = (typeof SCENARIOS)[number];
const onlyIndex = argv.indexOf('--only');
const only: ReadonlySet<Scenario> = new Set(
  onlyIndex < 0 ? SCENARIOS : ((argv[onlyIndex + 1] ?? '').split(',') as Scenario[]),
);
for (const s of only)
  if (!SCENARIOS.includes(s)) {
    console.error(`bench:cluster: --only ${s}: expected some of ${SCENARIOS.join(',')}`);
    process.exit(2);
  }
const runs = (s: Scenario): boolean => only.has(s);
/** `--sync-profile`: the block-sync follower runs under --cpu-prof; its top functions are printed. */
const syncProfile = flag('sync-profile');
/** `--empty-profile`: the 4 validators run the empty-block phase under --cpu-prof; their top functions are printed. */
const emptyProfile = flag('empty-profile');
/** `--large-profile`: the 10 validators run under --cpu-prof; their top functions are printed. */
const largeProfile = flag('large-profile');

const cfg = {
  validators: 4,
  largeValidators: num('large-validators', 10),
  verifyMs: num('verify-ms', quick ? 500 : 3000),
  warmupBlocks: num('warmup-blocks', quick ? 10 : 500),
  blocks: num('blocks', quick ? 40 : 20_000),
  syncBlocks: num('sync-blocks', quick ? 40 : 10_000),
  latencyRate: num('latency-rate', quick ? 50 : 1000),
  latencySeconds: num('latency-seconds', quick ? 3 : 20),
  saturationRate: num('saturation-rate', quick ? 200 : 3000),
  saturationSeconds: num('saturation-seconds', quick ? 4 : 30),
  largeBlocks: num('large-blocks', quick ? 10 : 300),
  accounts: num('accounts', quick ? 16 : 256),
};
/** `--verify-workers N|auto`: every synodd's verify_workers (default: config.toml's, i.e. the node's default). */
const verifyWorkersIndex = argv.indexOf('--verify-workers');
const verifyWorkers = verifyWorkersIndex < 0 ? undefined : argv[verifyWorkersIndex + 1];
if (verifyWorkers !== undefined && !/^(auto|\d+)$/.test(verifyWorkers)) {
  console.error(`bench:cluster: --verify-workers ${verifyWorkers}: expected "auto" or a number`);
  process.exit(2);
}
/** synodd start's flags for every node of the run. */
const startFlags = verifyWorkers === undefined ? [] : ['--verify_workers', verifyWorkers];
const say = (s: string): void => {
  if (!json) process.stderr.write(`${s}\n`);
};

interface Figure {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  /** true / false, or null where the issue sets no target (printed figures). */
  readonly met: boolean | null;
  /** The 1-minute load average when the figure was taken. */
  readonly load: number;
}
const figures: Figure[] = [];
const details: Record<string, unknown> = {};
const add = (f: Omit<Figure, 'load'>): void => {
  figures.push({ ...f, load: load1() });
};
/**
 * The validators' own CPU time per block, the mean of the nodes, from their CPU ms read before and
 * after `blocks` blocks: steadier than the interval on a shared machine.
 */
function meanCpuPerBlock(before: readonly number[], after: readonly number[], blocks: number): number {
  const spent = after.reduce((sum, c, i) => sum + (c - (before[i] as number)), 0);
  return spent / after.length / Math.max(1, blocks);
}
/** Megabytes (10^6 bytes, as the target's MB). */
const mb = (b: number): number => Math.round(b / 1e5) / 10;

const work = await mkdtemp(join(tmpdir(), 'synod-bench-cluster-'));
let interrupted = false;
const onSignal = (sig: NodeJS.Signals): void => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\nbench:cluster: ${sig}: stopping every node\n`);
  void stopEverything()
    .then(() => (keep ? undefined : rm(work, { recursive: true, force: true })))
    .finally(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const m = machine();
say(
  `bench:cluster${quick ? ' --quick' : ''}: ${m.cores} cores × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, load ${load1()}; work in ${work}`,
);

async function startAll(
  net: Testnet,
  count: number,
  logs: string,
  nodeFlags: string[] = [],
): Promise<Synodd[]> {
  return Array.from(
    { length: count },
    (_, i) => new Synodd(net.home(i), join(logs, `node${i}.log`), nodeFlags, startFlags),
  );
}

async function stopAll(nodes: readonly Synodd[]): Promise<void> {
  const codes = await Promise.all(nodes.map((n) => n.stop()));
  const bad = codes.filter((c) => c !== 0);
  if (bad.length > 0) say(`  note: ${bad.length} node(s) exited with ${bad.join(', ')}`);
}

async function main(): Promise<void> {
  // 1. The verify bound, first.
  const vb = runs('verify') ? await verifyBound(cfg.verifyMs) : { perSec: Number.NaN, workers: 0 };
  const bound = vb.perSec / cfg.validators;
  details.verifyBound = {
    verifiesPerSec: Math.round(vb.perSec),
    workers: vb.workers,
    validators: cfg.validators,
  };
  if (runs('verify'))
    add({
      figure: `verify bound: Ed25519 verifies/s (node:crypto, ${vb.workers} workers) ÷ ${cfg.validators} validators`,
      value: `${Math.round(vb.perSec).toLocaleString('en')} ÷ ${cfg.validators} = ${Math.round(bound).toLocaleString('en')} tx/s`,
      target: 'measured first',
      met: null,
    });
  if (runs('verify'))
    say(
      `verify bound: ${Math.round(vb.perSec)} verifies/s on ${vb.workers} workers → ${Math.round(bound)} tx/s`,
    );
  if (runs('empty') || runs('latency') || runs('saturation') || runs('sync')) await fourValidators(bound);
  if (runs('large')) await largeChain();
}

/** Scenarios 2–5 on one 4-validator chain (and its follower). */
async function fourValidators(bound: number): Promise<void> {
  // 2. The 4-validator chain: warm-up, RSS, empty-block interval, RSS after the blocks.
  const logs = join(work, 'logs');
  await mkdir(logs, { recursive: true });
  const net = await writeTestnet({
    dir: join(work, 'net4'),
    validators: cfg.validators,
    nonValidators: 1,
    accounts: cfg.accounts,
    timeoutCommitMs: 0,
  });
  const ports = Array.from({ length: cfg.validators }, (_, i) => net.rpcPort(i));
  const emptyProf = join(work, 'empty-profile');
  if (emptyProfile) await mkdir(emptyProf, { recursive: true });
  let nodes = await startAll(
    net,
    cfg.validators,
    logs,
    emptyProfile ? ['--cpu-prof', `--cpu-prof-dir=${emptyProf}`] : [],
  );
  await waitHeight(ports[0] as number, 1, 120_000, nodes);
  const watch = await HeaderWatch.open(ports[0] as number);
  const warm = Math.max(cfg.warmupBlocks, (await heightOf(ports[0] as number)) + 2);
  await watch.waitFor(warm, 600_000);
  const rss0 = await Promise.all(nodes.map((n) => n.rss()));
  const cpu0 = await Promise.all(nodes.map((n) => n.cpuMs()));
  const tEmpty0 = performance.now();
  say(
    `4 validators: warm at height ${warm}, RSS ${rss0.map(mb).join(' / ')} MB; running to ${cfg.blocks} blocks`,
  );
  let lastSay = performance.now();
  while (watch.top < cfg.blocks) {
    await watch.waitFor(Math.min(cfg.blocks, watch.top + 500), 600_000);
    if (performance.now() - lastSay > 30_000) {
      lastSay = performance.now();
      say(`  height ${watch.top}, load ${load1()}`);
    }
  }
  const emptyTop = watch.top;
  const rss1 = await Promise.all(nodes.map((n) => n.rss()));
  const cpu1 = await Promise.all(nodes.map((n) => n.cpuMs()));
  const cpuPerBlock = meanCpuPerBlock(cpu0, cpu1, emptyTop - warm);
  const iv4 = watch.intervals(warm, emptyTop);
  const p50_4 = percentile(iv4, 50);
  details.emptyBlocks4 = {
    from: warm,
    to: emptyTop,
    seconds: Math.round((performance.now() - tEmpty0) / 100) / 10,
    intervalMs: { p50: p50_4, p90: percentile(iv4, 90), p99: percentile(iv4, 99) },
    rssMB: { warm: rss0.map(mb), after: rss1.map(mb) },
    validatorCpuMsPerBlock: cpuPerBlock,
  };
  if (runs('empty'))
    add({
      figure: `empty-block interval p50, ${cfg.validators} validators, timeout_commit = 0 (heights ${warm}–${emptyTop})`,
      value: `${p50_4.toFixed(1)} ms (p90 ${percentile(iv4, 90).toFixed(1)}; validator CPU ${cpuPerBlock.toFixed(2)} ms/block)`,
      target: '≤ 20 ms',
      met: p50_4 <= 20,
    });
  const maxAfter = Math.max(...rss1);
  const growth = Math.max(...rss1.map((r, i) => (r - (rss0[i] as number)) / (rss0[i] as number))) * 100;
  if (runs('empty'))
    add({
      figure: `node RSS after warm-up (height ${warm}) and after ${emptyTop} blocks, max of ${cfg.validators} nodes`,
      value: `${mb(Math.max(...rss0))} → ${mb(maxAfter)} MB (growth ≤ ${growth.toFixed(1)} %)`,
      target: '≤ 150 MB, growth ≤ 10 %',
      met: maxAfter <= 150e6 && growth <= 10,
    });
  say(
    `  interval p50 ${p50_4.toFixed(1)} ms (validator CPU ${cpuPerBlock.toFixed(2)} ms/block); RSS ${rss1.map(mb).join(' / ')} MB`,
  );
  if (emptyProfile) {
    // the profiles are written at exit (warm-up included); the later scenarios run unprofiled
    await stopAll(nodes);
    const ep = await topFunctions(emptyProf, 12);
    details.emptyProfile = ep;
    say(
      `validators' profile, empty blocks (${(ep.busyMs / 1000).toFixed(1)} s busy): ${ep.top.map((f: HotFunction) => `${f.selfPct.toFixed(1)} % ${f.fn}`).join('; ')}`,
    );
    nodes = await startAll(net, cfg.validators, logs);
  }

  // 3. Latency at a fixed offered rate.
  const keys = join(net.dir, 'keys');
  let lat: LoadResult | undefined;
  if (runs('latency')) {
    lat = await runLoad({
      rate: cfg.latencyRate,
      durationMs: cfg.latencySeconds * 1000,
      drainMs: 20_000,
      ports,
      keys,
      log: join(logs, 'load-latency.log'),
    });
    const latBlocks = await blockStats(ports[0] as number, lat.blocks.first, lat.blocks.last);
    details.latency = { ...lat, blockStats: latBlocks };
    const p50 = lat.latencyMs.p50 ?? Number.NaN;
    const p99 = lat.latencyMs.p99 ?? Number.NaN;
    add({
      figure: `submit→commit latency p50 / p99 at ${cfg.latencyRate} tx/s offered, ${cfg.validators} validators`,
      value: `${p50} / ${p99} ms (${lat.committed}/${lat.submitted} committed, ${lat.submitTxPerSec.toFixed(0)} tx/s submitted; blocks up to ${latBlocks.maxTxs} txs, longest interval ${(latBlocks.intervalMs.max / 1000).toFixed(1)} s, ${latBlocks.laterRounds} of ${Math.max(0, lat.blocks.last - lat.blocks.first)} heights decided after round 0)`,
      target: 'p50 ≤ 100 ms, p99 ≤ 300 ms',
      met: p50 <= 100 && p99 <= 300 && lat.committed === lat.submitted,
    });
    say(
      `latency at ${cfg.latencyRate} tx/s: p50 ${p50} ms, p99 ${p99} ms, committed ${lat.committed}/${lat.submitted}`,
    );
  }

  // 4. Saturation with CPU profiles: the validators restarted under --cpu-prof.
  let sat: LoadResult | undefined;
  if (runs('saturation')) {
    await stopAll(nodes);
    const profDir = join(work, 'profiles');
    await mkdir(profDir, { recursive: true });
    nodes = await startAll(net, cfg.validators, logs, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    const hSat = await heightOf(ports[0] as number).catch(() => 0);
    await waitHeight(ports[0] as number, hSat + 2, 120_000, nodes);
    sat = await runLoad({
      rate: cfg.saturationRate,
      durationMs: cfg.saturationSeconds * 1000,
      drainMs: quick ? 10_000 : 30_000,
      ports,
      keys,
      log: join(logs, 'load-saturation.log'),
    });
    const satBlocks = await blockStats(ports[0] as number, sat.blocks.first, sat.blocks.last);
    // tx gossip and block phases from the validators' Prometheus endpoints (testnet metrics port: RPC + 3)
    const metricsUrls = ports.map((p) => `http://127.0.0.1:${p + 3}/metrics`);
    const gossip = await txGossip(metricsUrls);
    const phases = await blockPhases(metricsUrls);
    await stopAll(nodes);
    details.saturation = { ...sat, blockStats: satBlocks, txGossip: gossip, blockPhases: phases };
    const satTx = sat.committedTxPerSec;
    add({
      figure: `committed tx/s at saturation (${cfg.saturationRate} tx/s offered, ${sat.submitTxPerSec.toFixed(0)} submitted), ${cfg.validators} validators, every signature verified on every node`,
      value: `${satTx.toFixed(0)} tx/s = ${((satTx * 100) / bound).toFixed(1)} % of the bound (${sat.committed}/${sat.submitted} committed; blocks up to ${satBlocks.maxTxs} txs, longest interval ${(satBlocks.intervalMs.max / 1000).toFixed(1)} s, ${satBlocks.laterRounds} of ${Math.max(0, sat.blocks.last - sat.blocks.first)} heights decided after round 0${gossip === undefined ? '' : `; ${gossip.txsPerMessage.toFixed(1)} txs per gossip message`}${phases === undefined ? '' : `; ms per block and node: ${BLOCK_PHASES.map((p) => `${p} ${phases[p].meanMs.toFixed(0)}`).join(', ')}`})`,
      target: '≥ 50 % of the verify bound (stretch 75 %)',
      met: satTx >= 0.5 * bound,
    });
    say(
      `saturation: ${satTx.toFixed(0)} tx/s committed (${sat.committed}/${sat.submitted}), blocks ${sat.blocks.first}–${sat.blocks.last}`,
    );
    const prof = await topFunctions(profDir, 5);
    details.profile = prof;
    add({
      figure: `CPU profile at saturation: top five functions' self time (${cfg.validators} nodes, ${prof.profiles} threads, ${(prof.busyMs / 1000).toFixed(1)} s busy)`,
      value: prof.top.map((f: HotFunction) => `${f.selfPct.toFixed(1)} % ${f.fn}`).join('; '),
      target: 'printed',
      met: null,
    });
    nodes = await startAll(net, cfg.validators, logs);
  }
  if (runs('sync'))
    await blockSync(net, nodes, logs, emptyTop, (lat?.committed ?? 0) + (sat?.committed ?? 0), sat ?? lat);
  await stopAll(nodes);
  watch.close();
}

/** Scenario 5: block sync by a fresh follower (the validators serve; they keep making blocks meanwhile). */
async function blockSync(
  net: Testnet,
  nodes: readonly Synodd[],
  logs: string,
  emptyTop: number,
  txs: number,
  lastLoad: LoadResult | undefined,
): Promise<void> {
  const ports = Array.from({ length: cfg.validators }, (_, i) => net.rpcPort(i));

  const tip = await waitHeight(ports[0] as number, lastLoad?.blocks.last ?? emptyTop, 120_000, nodes);
  const followerPort = await freshPortsIfTaken(net, cfg.validators);
  const followerProf = join(logs, '..', 'follower-profile');
  if (syncProfile) await mkdir(followerProf, { recursive: true });
  const follower = new Synodd(
    net.home(cfg.validators),
    join(logs, 'follower.log'),
    syncProfile ? ['--cpu-prof', `--cpu-prof-dir=${followerProf}`] : [],
    startFlags,
  );
  const syncEnd = Math.min(cfg.syncBlocks, emptyTop);
  type Mark = { h: number; t: number; cpuMs: number };
  let first: Mark | undefined;
  let emptyDone: Mark | undefined;
  let emptyTopDone: Mark | undefined;
  let txDone: Mark | undefined;
  const deadline = Date.now() + (quick ? 120_000 : 1_800_000);
  while (txDone === undefined && Date.now() < deadline) {
    if (follower.child.exitCode !== null || follower.child.signalCode !== null)
      throw new Error(
        `the follower exited (${follower.child.exitCode ?? follower.child.signalCode}): see ${follower.log}`,
      );
    const h = await heightOf(followerPort).catch(() => 0);
    const t = performance.now();
    const cpuMs = h > 0 ? await follower.cpuMs().catch(() => Number.NaN) : 0;
    if (first === undefined && h > 0) first = { h, t, cpuMs };
    if (emptyDone === undefined && h >= syncEnd) emptyDone = { h, t, cpuMs };
    if (emptyTopDone === undefined && h >= emptyTop) emptyTopDone = { h, t, cpuMs };
    if (h >= tip) txDone = { h, t, cpuMs };
    await new Promise((r) => setTimeout(r, 100));
  }
  // the follower may still be block-syncing (chasing the validators' new blocks): a stop during its start ends the sync at a block
  await follower.stop();
  if (first === undefined || emptyDone === undefined || emptyTopDone === undefined || txDone === undefined)
    throw new Error(`the follower did not catch up to ${tip} in time`);
  const emptyRate = ((emptyDone.h - first.h) * 1000) / Math.max(1, emptyDone.t - first.t);
  const txBlocks = txDone.h - emptyTopDone.h;
  const txSegMs = txDone.t - emptyTopDone.t;
  const txRate = (txBlocks * 1000) / Math.max(1, txSegMs);
  // The follower's own CPU time per block: steadier than wall time on a shared machine.
  const emptyCpuPerBlock = (emptyDone.cpuMs - first.cpuMs) / Math.max(1, emptyDone.h - first.h);
  const txCpuPerBlock = txBlocks > 0 ? (txDone.cpuMs - emptyTopDone.cpuMs) / txBlocks : Number.NaN;
  details.blockSync = {
    first,
    emptyDone,
    txDone,
    emptyBlocksPerSec: emptyRate,
    followerCpuMsPerEmptyBlock: emptyCpuPerBlock,
    followerCpuMsPerTxBlock: txCpuPerBlock,
    tip,
    emptyTop,
  };
  add({
    figure: `block sync: a fresh node catching up ${emptyDone.h - first.h} empty blocks, then ${Math.max(0, txBlocks)} with txs`,
    value: `${emptyRate.toFixed(0)} empty blocks/s (follower CPU ${emptyCpuPerBlock.toFixed(2)} ms/block)${txBlocks > 0 ? `; ${txRate.toFixed(0)} blocks/s with ${txs} txs (${txCpuPerBlock.toFixed(1)} ms/block)` : ''}`,
    target: '≥ 1,000 empty blocks/s',
    met: emptyRate >= 1000,
  });
  say(
    `block sync: ${emptyRate.toFixed(0)} empty blocks/s (follower CPU ${emptyCpuPerBlock.toFixed(2)} ms/block), then ${txRate.toFixed(0)} blocks/s with txs`,
  );
  if (syncProfile) {
    const fp = await topFunctions(followerProf, 12);
    details.syncProfile = fp;
    say(
      `follower profile (${(fp.busyMs / 1000).toFixed(1)} s busy): ${fp.top.map((f: HotFunction) => `${f.selfPct.toFixed(1)} % ${f.fn}`).join('; ')}`,
    );
  }
}

/** Scenario 6: the 10-validator chain. */
async function largeChain(): Promise<void> {
  const net10 = await writeTestnet({
    dir: join(work, 'net-large'),
    validators: cfg.largeValidators,
    nonValidators: 0,
    accounts: 2,
    timeoutCommitMs: 0,
  });
  const logs = join(work, 'logs');
  await mkdir(logs, { recursive: true });
  const largeProf = join(work, 'large-profile');
  if (largeProfile) await mkdir(largeProf, { recursive: true });
  const nodes10 = await startAll(
    net10,
    cfg.largeValidators,
    logs,
    largeProfile ? ['--cpu-prof', `--cpu-prof-dir=${largeProf}`] : [],
  );
  await waitHeight(net10.rpcPort(0), 1, 180_000, nodes10);
  const w10 = await HeaderWatch.open(net10.rpcPort(0));
  const from10 = (await heightOf(net10.rpcPort(0))) + 5;
  const to10 = from10 + cfg.largeBlocks;
  await w10.waitFor(from10, 900_000);
  const cpu0 = await Promise.all(nodes10.map((n) => n.cpuMs()));
  await w10.waitFor(to10, 900_000);
  const cpu1 = await Promise.all(nodes10.map((n) => n.cpuMs()));
  w10.close();
  await stopAll(nodes10);
  if (largeProfile) {
    const lp = await topFunctions(largeProf, 12);
    details.largeProfile = lp;
    say(
      `validators' profile, ${cfg.largeValidators} validators (${(lp.busyMs / 1000).toFixed(1)} s busy): ${lp.top.map((f: HotFunction) => `${f.selfPct.toFixed(1)} % ${f.fn}`).join('; ')}`,
    );
  }
  const iv10 = w10.intervals(from10, to10);
  const p50_10 = percentile(iv10, 50);
  const cpuPerBlock10 = meanCpuPerBlock(cpu0, cpu1, to10 - from10);
  details.emptyBlocks10 = {
    from: from10,
    to: to10,
    intervalMs: { p50: p50_10, p90: percentile(iv10, 90) },
    validatorCpuMsPerBlock: cpuPerBlock10,
  };
  add({
    figure: `empty-block interval p50, ${cfg.largeValidators} validators, timeout_commit = 0 (heights ${from10}–${to10})`,
    value: `${p50_10.toFixed(1)} ms (p90 ${percentile(iv10, 90).toFixed(1)}; validator CPU ${cpuPerBlock10.toFixed(2)} ms/block)`,
    target: '≤ 100 ms',
    met: p50_10 <= 100,
  });
}

function table(): string {
  const rows = figures.map((f) => [
    f.figure,
    f.value,
    f.target,
    f.met === null ? '—' : f.met ? 'met' : 'NOT met',
    String(f.load),
  ]);
  const head = ['figure', 'value', 'target', 'met', 'load'];
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

let failure: unknown;
try {
  await main();
} catch (err) {
  failure = err;
} finally {
  await stopEverything();
}
if (interrupted) await new Promise(() => {});
const summary = {
  date: new Date().toISOString(),
  machine: m,
  quick,
  config: cfg,
  figures,
  details,
  ...(failure === undefined ? {} : { error: (failure as Error).message }),
};
if (json) console.log(JSON.stringify(summary, null, 2));
else {
  console.log(
    `\nbench:cluster ${summary.date}: ${m.cores} cores × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}${quick ? ' (--quick: small sizes, not the targets’ sizes)' : ''}\n`,
  );
  console.log(table());
  if (failure !== undefined) console.log(`\nfailed: ${(failure as Error).stack ?? String(failure)}`);
}
if (keep) say(`kept ${work}`);
else await rm(work, { recursive: true, force: true });
process.exit(failure === undefined ? 0 : 1);
