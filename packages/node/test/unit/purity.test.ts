/**
 * The purity rules of biome.json (issue #12): the consensus core and engine,
 * the ledger's state machine and this package may not read the clock or
 * randomness, set timers, touch the process or do I/O. Checked by linting
 * probe files placed at those paths in a copy of the configuration.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const BIOME = join(ROOT, 'node_modules/.bin/biome');

/** Each line that must be flagged, and the one that must not (the last). */
const PROBE = [
  "import { readFileSync } from 'node:fs';",
  "import { ClassicLevel } from 'classic-level';",
  "import { createLibp2p } from 'libp2p';",
  'export const now = Date.now();',
  'export const random = Math.random();',
  'export const timer = setTimeout(() => undefined, 1);',
  'export const env = process.env.HOME;',
  'export const clock = performance.now();',
  'export const id = crypto.randomUUID();',
  'export const fine = Math.max(1, 2);',
  'export { ClassicLevel, createLibp2p, readFileSync };',
  '',
].join('\n');
const FLAGGED = [1, 2, 3, 4, 5, 6, 7, 8, 9];

const LEDGER_STORAGE = [
  "import type { KvStore } from '@synod/storage';",
  "import { openLevelKvStore } from '@synod/storage';",
  'export type Store = KvStore;',
  'export { openLevelKvStore };',
  '',
].join('\n');

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'synod-purity-'));
  const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
  delete config.$schema;
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
  cpSync(join(ROOT, 'biome-plugins'), join(dir, 'biome-plugins'), { recursive: true });
  for (const pkg of ['consensus', 'ledger', 'node', 'sim']) {
    mkdirSync(join(dir, 'packages', pkg, 'src', 'engine'), { recursive: true });
    writeFileSync(join(dir, 'packages', pkg, 'src', 'probe.ts'), PROBE);
  }
  writeFileSync(join(dir, 'packages/consensus/src/engine/probe.ts'), PROBE);
  writeFileSync(join(dir, 'packages/ledger/src/storage-probe.ts'), LEDGER_STORAGE);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Diagnostic {
  readonly category: string;
  readonly location: { readonly path: string; readonly start?: { readonly line: number } };
}

/** Lines of `file` flagged by a purity rule. */
function flaggedLines(file: string): number[] {
  let out: string;
  try {
    out = execFileSync(BIOME, ['lint', '--vcs-enabled=false', '--reporter=json', file], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (err) {
    out = (err as { stdout: string }).stdout; // exit code 1 when there are diagnostics
  }
  const { diagnostics } = JSON.parse(out) as { diagnostics: Diagnostic[] };
  const purity = diagnostics.filter((d) =>
    ['lint/style/noRestrictedImports', 'lint/style/noRestrictedGlobals', 'plugin'].includes(d.category),
  );
  return [...new Set(purity.map((d) => d.location.start?.line ?? 0))].sort((a, b) => a - b);
}

describe('purity rules (biome.json)', () => {
  for (const path of [
    'packages/consensus/src/probe.ts',
    'packages/consensus/src/engine/probe.ts',
    'packages/ledger/src/probe.ts',
    'packages/node/src/probe.ts',
  ]) {
    it(`${path}: no clock, randomness, timers, process, node built-ins, database or libp2p`, () => {
      expect(flaggedLines(path)).toEqual(FLAGGED);
    });
  }

  it('the ledger takes the KvStore port from @synod/storage, never a database', () => {
    expect(flaggedLines('packages/ledger/src/storage-probe.ts')).toEqual([2]);
  });

  it('the rules are scoped: a host (the simulator) may use the clock', () => {
    expect(flaggedLines('packages/sim/src/probe.ts')).toEqual([]);
  });
});
