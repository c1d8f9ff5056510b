import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The README's example, run as written (its import pointed at the package source), prints what the README says. */
describe('README example', () => {
  it('runs and prints the documented output', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = readme.slice(readme.indexOf('## Example'));
    const code = /```ts\n([\s\S]*?)```/.exec(example)?.[1];
    const printed = /prints\n\n```text\n([\s\S]*?)```/.exec(example)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'synod-consensus-readme-'));
    try {
      const file = join(dir, 'example.mts');
      const source = join(root, 'src', 'index.ts');
      writeFileSync(file, (code as string).replace(`'@synod/consensus'`, JSON.stringify(source)));
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', file], {
        encoding: 'utf8',
        cwd: root,
      });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
