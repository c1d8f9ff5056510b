/**
 * Does the simulator catch a broken core? Runs seeds with the
 * `ignore-lock-l22` mutant (a core that prevotes a valid proposal even when
 * locked on another value) and reports the first seed whose checkers fail it,
 * then checks the same seed passes with the production core. Exit 0 when the
 * mutant is caught as an agreement violation, 1 when it is not.
 *
 *   pnpm --filter @synod/sim mutant-search [--from S] [--seeds N]
 *
 * Not in the default test run: on the simulator running @synod/node the
 * mutant is caught in none of seeds 1–1,000 (see README, Status) — making it
 * caught within a hundred seeds is issue #19's work.
 */
import { runSimulation } from '../src/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  const v = i < 0 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isSafeInteger(v) && v > 0 ? v : fallback;
};
const from = arg('--from', 1);
const seeds = arg('--seeds', 100);
const started = Date.now();
for (let seed = from; seed < from + seeds; seed++) {
  const r = await runSimulation({ seed, mutation: 'ignore-lock-l22' });
  if (r.ok) continue;
  const fixed = await runSimulation({ seed });
  console.log(
    `seed ${seed}: the mutant fails ${r.failure?.class}/${r.failure?.check} (${r.failure?.reason}); ` +
      `the production core ${fixed.ok ? 'passes' : `fails too (${fixed.failure?.check})`}`,
  );
  process.exit(r.failure?.check === 'agreement' && fixed.ok ? 0 : 1);
}
console.log(
  `the mutant was not caught in seeds ${from}–${from + seeds - 1} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
process.exit(1);
