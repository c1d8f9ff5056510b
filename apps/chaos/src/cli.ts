#!/usr/bin/env node
/**
 * `pnpm chaos [--seed S] [--duration SECONDS] [--quick] [--keep] [--rate TX/S]`:
 * a testnet of real synodd processes, each in its own network namespace,
 * under the seeded fault schedule of schedule.ts, checked after every phase
 * and at the end (run.ts). Needs root, `ip`, `tc` and `iptables`. Cleans up
 * every namespace, link and process it made on exit, on Ctrl-C and on a
 * failure, and whatever a killed earlier run left behind when it starts.
 */
import '@synod/polyfills';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNOD, SYNODD } from './cluster.js';
import { cleanupLeftovers } from './netns.js';
import { chaosRun, resources } from './run.js';
import { describeSchedule, fullSchedule, quickSchedule } from './schedule.js';
import { have, run } from './sh.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function usage(why: string): never {
  process.stderr.write(
    `chaos: ${why}\nusage: pnpm chaos [--seed S] [--duration SECONDS] [--quick] [--keep] [--rate TX/S] | --cleanup\n`,
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): {
  seed: number;
  durationS: number;
  quick: boolean;
  keep: boolean;
  rate: number;
  cleanupOnly: boolean;
} {
  let seed = Math.floor(Math.random() * 1_000_000);
  let durationS = 300;
  let quick = false;
  let keep = false;
  let rate = 4;
  let cleanupOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--') continue;
    if (a === '--seed') seed = Number(value());
    else if (a === '--duration') durationS = Number(value());
    else if (a === '--rate') rate = Number(value());
    else if (a === '--quick') quick = true;
    else if (a === '--keep') keep = true;
    else if (a === '--cleanup') cleanupOnly = true;
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) usage('--seed: a non-negative integer');
  if (!(durationS >= 60 && durationS <= 3600)) usage('--duration: seconds in [60, 3600]');
  if (!(rate > 0 && rate <= 200)) usage('--rate: transactions per second in (0, 200]');
  return { seed, durationS, quick, keep, rate, cleanupOnly };
}

async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) usage('needs root (network namespaces, veth, iptables)');
  for (const tool of ['ip', 'tc', 'iptables'])
    if (!have(tool)) usage(`${tool} is not installed (apt-get install -y iproute2 iptables)`);
  for (const bin of [SYNODD, SYNOD])
    await access(bin).catch(() =>
      usage(`${bin} is missing: build first (pnpm exec turbo run build --filter=@synod/chaos...)`),
    );
  // iptables must work inside a namespace (nf_tables or legacy).
  run('iptables', ['--version']);
}

/** One run at a time on a machine: they share the namespace prefix and the addresses. */
const LOCK = join(tmpdir(), 'synchaos.lock');

function takeLock(): void {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8').trim());
    let alive = false;
    try {
      alive = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chaos');
    } catch {
      // No such process: a stale lock.
    }
    if (alive && pid !== process.pid)
      usage(
        `another chaos run (pid ${pid}) is running on this machine: wait for it, or stop it (kill -INT ${pid}); its namespaces and addresses are the same`,
      );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  writeFileSync(LOCK, `${process.pid}\n`);
  process.on('exit', () => {
    try {
      if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK);
    } catch {
      // Gone already.
    }
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  await preflight();
  takeLock();
  const left = cleanupLeftovers();
  if (left.namespaces + left.processes + left.links > 0 || o.cleanupOnly)
    out(
      `removed what an earlier run left: ${left.namespaces} namespaces, ${left.processes} processes, ${left.links} links`,
    );
  if (o.cleanupOnly) process.exit(0);
  const schedule = o.quick ? quickSchedule(o.seed) : fullSchedule(o.seed, o.durationS * 1000);
  out(`chaos ${o.quick ? '--quick' : `--duration ${o.durationS}`} --seed ${o.seed}`);
  for (const l of describeSchedule(schedule)) out(l);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    out(`\n${signal}: cleaning up`);
    void resources.cleanup(out).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  let code = 1;
  try {
    const r = await chaosRun({
      schedule,
      keep: o.keep,
      rate: o.rate,
      convergeMs: 90_000,
      out,
    });
    code = r.failed === 0 ? 0 : 1;
  } catch (err) {
    out(`chaos: the run failed: ${(err as Error).stack ?? String(err)}`);
    out(`seed ${o.seed}`);
    code = 1;
  } finally {
    await resources.cleanup(out);
  }
  const left2 = run('ip', ['netns', 'list'], { allowFail: true })
    .split('\n')
    .filter((l) => l.startsWith('synchaos-'));
  if (left2.length > 0) {
    out(`left behind: ${left2.join(', ')}`);
    code = 1;
  }
  process.exit(code);
}

void main();
