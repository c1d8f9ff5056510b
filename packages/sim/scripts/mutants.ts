/**
 * `pnpm sim:mutants`: measures the simulator itself. Each mutant is a
 * deliberate bug, applied as exact text replacements to a temporary copy of
 * the workspace's sources (nothing in the production code switches it on);
 * the seeds of the simulator run in that copy until one fails. For each
 * mutant it prints the seeds it took to catch it, the failure's class and
 * check, and whether that meets the target (safety mutants within 100 seeds,
 * liveness mutants within 1,000). A failing seed is replayed on the
 * unmodified sources: it must pass there (otherwise it is a false alarm, and
 * the run fails).
 *
 *     pnpm sim:mutants [--from S] [--seeds N] [--only id,id] [--jobs J] [--quick]
 *
 * `--seeds` caps the seeds per mutant (default: its target); `--quick` is
 * the CI sample (a few key mutants, a few dozen seeds). Exit code 1 when a
 * replacement's anchor text is gone (the mutant no longer applies: fix the
 * list), when a failing seed also fails on the correct code, or, with
 * `--require`, when a mutant misses its target within the seeds run.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTANTS, type Mutant } from './mutant-list.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const TARGET = { safety: 100, liveness: 1000 } as const;
/** The CI sample: key safety mutants that the adversary catches within a few seeds. */
export const QUICK = ['l22-ignore-lock', 'l36-no-lock', 'quorum-half'];

export interface SeedLine {
  readonly seed: number;
  readonly ok: boolean;
  readonly class?: string;
  readonly check?: string;
  readonly reason?: string;
  readonly adversary: string | null;
  readonly wallMs: number;
}

export interface MutantResult {
  readonly mutant: Mutant;
  /** Seeds run (the last one failed when `caught`). */
  readonly seeds: number;
  readonly caught: SeedLine | undefined;
  /** The failing seed passes on the unmodified sources. */
  readonly confirmed: boolean | undefined;
  readonly met: boolean;
  readonly wallMs: number;
}

/** Copies the workspace's packages (sources, manifests, links) to a new temporary directory. */
export function copyWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synod-mutant-'));
  const skip = new Set(['dist', 'test', 'bench', 'e2e', '.vite', '.vite-temp', '.turbo', 'coverage']);
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const from = join(ROOT, 'packages', pkg);
    if (!existsSync(join(from, 'package.json'))) continue;
    cpSync(from, join(dir, 'packages', pkg), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => {
        const rel = src.slice(from.length + 1).split('/');
        // node_modules holds links (to sibling packages, and into the root's store): copied as links
        return !(rel.length === 1 && skip.has(rel[0] as string));
      },
    });
  }
  for (const f of ['package.json', 'tsconfig.base.json']) cpSync(join(ROOT, f), join(dir, f));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Applies a mutant's replacements; throws when an anchor does not occur exactly as often as expected. */
export function applyMutant(dir: string, m: Mutant): void {
  for (const r of m.replace) {
    const file = join(dir, r.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(r.from).length - 1;
    const want = r.count ?? 1;
    if (count !== want)
      throw new Error(
        `mutant ${m.id}: ${r.file}: anchor found ${count} times, expected ${want} (the source changed: update scripts/mutant-list.ts):\n${r.from}`,
      );
    writeFileSync(file, text.split(r.from).join(r.to));
  }
}

/** Runs seeds in `packageDir` (a sim package) until one fails; resolves with every line. */
export function runSeeds(
  packageDir: string,
  from: number,
  seeds: number,
  onLine?: (l: SeedLine) => void,
): Promise<SeedLine[]> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      TSX,
      [
        '--conditions=source',
        join(packageDir, 'scripts/seed-worker.ts'),
        '--from',
        String(from),
        '--seeds',
        String(seeds),
      ],
      { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: SeedLine[] = [];
    let buf = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!text.startsWith('{')) continue;
        const l = JSON.parse(text) as SeedLine;
        lines.push(l);
        onLine?.(l);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      if (code === 0) resolveRun(lines);
      else reject(new Error(`seed worker exited with ${code}: ${err}`));
    });
  });
}

export async function runMutant(
  m: Mutant,
  from: number,
  seeds: number,
  log: (s: string) => void = () => undefined,
): Promise<MutantResult> {
  const t = Date.now();
  const dir = copyWorkspace();
  try {
    applyMutant(dir, m);
    const lines = await runSeeds(join(dir, 'packages/sim'), from, seeds, (l) => {
      if (!l.ok) log(`  ${m.id}: seed ${l.seed} ${l.class} (${l.check}): ${l.reason}`);
    });
    const caught = lines.find((l) => !l.ok);
    let confirmed: boolean | undefined;
    if (caught !== undefined) {
      const replay = await runSeeds(join(ROOT, 'packages/sim'), caught.seed, 1);
      confirmed = replay[0]?.ok === true;
    }
    const n = caught === undefined ? lines.length : lines.indexOf(caught) + 1;
    return {
      mutant: m,
      seeds: n,
      caught,
      confirmed,
      met: caught !== undefined && confirmed === true && n <= TARGET[m.kind],
      wallMs: Date.now() - t,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function row(r: MutantResult): string {
  const c = r.caught;
  const verdict =
    c === undefined
      ? `missed (${r.seeds} seeds)`
      : r.confirmed !== true
        ? 'FALSE ALARM (fails on the correct code too)'
        : r.met
          ? 'met'
          : `missed (caught after ${r.seeds})`;
  return `| ${r.mutant.id} | ${r.mutant.rule} | ${r.mutant.kind} ≤ ${TARGET[r.mutant.kind]} | ${c === undefined ? '—' : `${r.seeds} (seed ${c.seed})`} | ${c === undefined ? '—' : `${c.class} / ${c.check}`} | ${verdict} | ${Math.round(r.wallMs / 1000)} s |`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const from = Number(arg('--from') ?? 1);
  const cap = arg('--seeds') === undefined ? undefined : Number(arg('--seeds'));
  const only = arg('--only')?.split(',') ?? (quick ? QUICK : undefined);
  const jobs = Math.max(1, Number(arg('--jobs') ?? 1));
  const require = process.argv.includes('--require');
  const list = only === undefined ? MUTANTS : MUTANTS.filter((m) => only.includes(m.id));
  if (only !== undefined && list.length !== only.length)
    throw new Error(`unknown mutant in --only: ${only.filter((id) => !MUTANTS.some((m) => m.id === id))}`);
  const results: MutantResult[] = [];
  const queue = [...list];
  process.stdout.write(
    `mutants from seed ${from}${cap === undefined ? '' : `, at most ${cap} seeds each`}\n`,
  );
  const worker = async (): Promise<void> => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
      const seeds = Math.min(cap ?? (quick ? 30 : TARGET[m.kind]), TARGET[m.kind]);
      const r = await runMutant(m, from, seeds, (s) => process.stdout.write(`${s}\n`));
      results.push(r);
      process.stdout.write(`${row(r)}\n`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  results.sort((a, b) => list.indexOf(a.mutant) - list.indexOf(b.mutant));
  process.stdout.write(
    `\n| mutant | rule | target (seeds) | seeds to the first failure | failure (class / check) | verdict | wall |\n| --- | --- | --- | --- | --- | --- | --- |\n`,
  );
  for (const r of results) process.stdout.write(`${row(r)}\n`);
  const met = results.filter((r) => r.met).length;
  const falseAlarms = results.filter((r) => r.caught !== undefined && r.confirmed !== true).length;
  process.stdout.write(
    `\n${met} of ${results.length} mutants met their target; ${falseAlarms} false alarms\n`,
  );
  if (falseAlarms > 0 || (require && met < results.length)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main();
