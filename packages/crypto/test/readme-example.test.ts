/**
 * Runs the example of README.md: extracts its first ```ts block, points its
 * `@synod/crypto` import at this package's sources, runs it, and checks each
 * `console.log(...)` against the value in its trailing `// comment`.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

/** The expected output of each console.log line: the text of its trailing comment. */
function expectedOutput(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => line.startsWith('console.log('))
    .map((line) => {
      const m = /\);\s*\/\/ (.+)$/.exec(line);
      if (m?.[1] === undefined)
        throw new Error(`README example: console.log without an expected value: ${line}`);
      return m[1];
    });
}

describe('README example', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is present and imports from @synod/crypto', () => {
    expect(block).toContain("from '@synod/crypto'");
    expect(expectedOutput(block).length).toBeGreaterThanOrEqual(10);
  });

  it('runs and prints what its comments say', async () => {
    const src = new URL('../src/index.ts', import.meta.url).href;
    const code = block.replace("from '@synod/crypto'", `from ${JSON.stringify(src)}`);
    expect(code).not.toContain('@synod/crypto');
    const dir = await mkdtemp(join(tmpdir(), 'synod-readme-'));
    try {
      const file = join(dir, 'example.ts');
      await writeFile(file, code);
      const printed: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed.push(args.map(String).join(' '));
      });
      await import(/* @vite-ignore */ pathToFileURL(file).href);
      expect(printed).toEqual(expectedOutput(block));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
