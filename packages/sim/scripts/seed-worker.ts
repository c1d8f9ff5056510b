/**
 * Runs seeds of the simulator until one fails (or all pass), printing one
 * JSON line per seed: what `pnpm sim:mutants` runs in each mutant's copy
 * of the sources (and in the unmodified tree, to replay a failing seed).
 *
 *     tsx --conditions=source scripts/seed-worker.ts --from S --seeds N [--all]
 *
 * `--all` goes on after a failure.
 */
import '@synod/polyfills';
import { runSimulation } from '../src/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i < 0 ? undefined : process.argv[i + 1];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const from = arg('--from', 1);
  const seeds = arg('--seeds', 1);
  const all = process.argv.includes('--all');
  for (let seed = from; seed < from + seeds; seed++) {
    const t = Date.now();
    const r = await runSimulation({ seed, trace: false });
    const adv = r.scenario.adversary;
    const line = {
      seed,
      ok: r.ok,
      ...(r.failure === undefined
        ? {}
        : { class: r.failure.class, check: r.failure.check, reason: r.failure.reason.slice(0, 300) }),
      adversary: adv === null ? null : `${adv.kind}@${adv.height}`,
      wallMs: Date.now() - t,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    if (!r.ok && !all) return;
  }
}

await main();
