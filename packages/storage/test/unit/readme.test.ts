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

  it('runs and prints what the README says', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', EXAMPLE],
      { cwd: PACKAGE_DIR },
    );
    expect(stdout).toContain('records to replay after height 1: 1');
    expect(stdout).toContain('identical bytes, same signature: true');
    expect(stdout).toContain('conflicting vote refused: SIGNER_DOUBLE_SIGN');
    expect(stdout).toContain('alice: 100');
    expect(stdout).toMatch(/WAL bytes on disk: [1-9]\d*/);
  });
});
