import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderScript } from './runner.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

/** Algorithm 1's lines 11–67: every one must run in some script. */
const PAPER_LINES = Array.from({ length: 67 - 11 + 1 }, (_, i) => 11 + i);

describe('interaction scripts (re-rendered and compared; `vitest -u` rewrites them)', () => {
  it('there are scripts', () => {
    expect(scripts.length).toBeGreaterThan(10);
  });

  for (const name of scripts) {
    it(name, async () => {
      const path = join(dir, name);
      const { output } = renderScript(readFileSync(path, 'utf8'));
      expect(output, 'a script line was rejected').not.toMatch(/^> error/m);
      await expect(output).toMatchFileSnapshot(path);
    });
  }

  it('cover every line of the paper (11–67)', () => {
    const covered = new Set<number>();
    for (const name of scripts) {
      for (const l of renderScript(readFileSync(join(dir, name), 'utf8')).lines) covered.add(l);
    }
    expect(PAPER_LINES.filter((l) => !covered.has(l))).toEqual([]);
  });

  it('a rendered script renders to itself (output lines are ignored as input)', () => {
    for (const name of scripts) {
      const once = renderScript(readFileSync(join(dir, name), 'utf8')).output;
      expect(renderScript(once).output).toBe(once);
    }
  });

  it('rejects malformed lines with an error line and carries on', () => {
    const { output } = renderScript('init n=4 self=0\nprevote r=0 from=9 value=A\nfrobnicate\nstate\n');
    expect(output).toBe(
      [
        'init n=4 self=0',
        '> schedule-timeout propose h=1 r=0',
        '> request-value h=1 r=0',
        'prevote r=0 from=9 value=A',
        '> error: from=9 is not a validator (n=4)',
        'frobnicate',
        '> error: unknown command "frobnicate"',
        'state',
        '> state h=1 r=0 step=propose locked=nil valid=nil',
        '',
      ].join('\n'),
    );
  });

  it('the interact command prints the same rendering (stdin with -)', () => {
    const name = scripts[0] as string;
    const text = readFileSync(join(dir, name), 'utf8');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', join(dir, 'run.ts'), '-'],
      {
        input: text,
        encoding: 'utf8',
        cwd: join(dir, '..', '..'),
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(renderScript(text).output);
  });
});
