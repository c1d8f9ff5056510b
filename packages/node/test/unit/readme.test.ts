import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../readme-example.ts', import.meta.url));

describe('README example', () => {
  it('is the code in test/readme-example.ts, verbatim', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = (await readFile(EXAMPLE, 'utf8')).split('\n').slice(1).join('\n');
    expect(block).toBeDefined();
    expect(block).toBe(example);
  });

  it('runs: one validator commits a block with the three transfers', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', EXAMPLE],
      { cwd: PACKAGE_DIR },
    );
    expect(stdout).toContain('tx 0: OK\ntx 1: OK\ntx 2: OK');
    expect(stdout).toMatch(/block \d+: OK, OK, OK/);
    expect(stdout).toMatch(/committed 3 transactions by height \d+; query account: OK/);
    expect(stdout).toMatch(/status: height \d+, 0 txs pending/);
  });
});
