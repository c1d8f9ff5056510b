import '@synod/polyfills';
import {
  actionsLine,
  addActions,
  addMemory,
  addTotals,
  type Cli,
  emptyActions,
  emptyMemory,
  emptyTotals,
  memoryLine,
  parseArgs,
  punishmentLine,
  replayCommand,
  summary,
  USAGE,
  UsageError,
} from './cli-args.js';
import { runSimulation } from './simulation.js';

async function main(): Promise<void> {
  let cli: Cli;
  try {
    cli = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  if (cli.seed !== undefined) {
    const t = performance.now();
    if (cli.quiet) out(`seed=${cli.seed}`);
    const r = await runSimulation({
      ...cli.options,
      seed: cli.seed,
      ...(cli.quiet ? {} : { trace: out }),
    });
    if (cli.quiet) out(r.description);
    for (const line of summary(r, performance.now() - t)) out(line);
    if (!r.ok) out(`replay: ${replayCommand(r.seed, cli.flags)}`);
    process.exitCode = r.ok ? 0 : 1;
    return;
  }
  const count = cli.seeds as number;
  const t = performance.now();
  let failed = 0;
  let heights = 0;
  const totals = emptyTotals();
  const memory = emptyMemory();
  const actions = emptyActions();
  let streak = { length: 0, seed: 0 };
  let passingStreak = { length: 0, seed: 0 };
  for (let i = 0; i < count; i++) {
    const seed = (cli.from + i) >>> 0;
    const r = await runSimulation({ ...cli.options, seed });
    heights += r.stats.heights;
    addTotals(totals, r);
    addMemory(memory, r);
    addActions(actions, r);
    if (r.stats.punishments.honestMissStreak > streak.length)
      streak = { length: r.stats.punishments.honestMissStreak, seed };
    if (r.ok && r.stats.punishments.honestMissStreak > passingStreak.length)
      passingStreak = { length: r.stats.punishments.honestMissStreak, seed };
    if (!r.ok) {
      failed++;
      const f = r.failure;
      out(
        `seed=${seed} class=${f?.class} reason=${f?.check}: ${f?.reason} replay: ${replayCommand(seed, cli.flags)}`,
      );
    }
    if (process.stderr.isTTY && (i + 1) % 10 === 0)
      process.stderr.write(`\r${i + 1}/${count} seeds, ${failed} failed`);
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const secs = (performance.now() - t) / 1000;
  out(`${count} seeds in ${secs.toFixed(1)}s (${heights} heights, ${(heights / secs).toFixed(0)} heights/s)`);
  out(`punishments over all seeds: ${punishmentLine(totals)}`);
  out(`byzantine actions over all seeds: ${actionsLine(actions)}`);
  out(`memory over all seeds: ${memoryLine(memory)}`);
  const at = (x: { length: number; seed: number }): string =>
    `${x.length}${x.length > 0 ? ` (seed ${x.seed})` : ''}`;
  out(
    `longest run of decided commits an honest validator missed: ${at(streak)}; in the seeds that passed: ${at(passingStreak)}`,
  );
  out(`${count - failed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
