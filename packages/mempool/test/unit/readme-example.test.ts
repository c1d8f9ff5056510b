import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('is the code of test/readme-example.ts, verbatim', () => {
    const example = readFileSync(new URL('../readme-example.ts', import.meta.url), 'utf8').trim();
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });

  it('runs (its assertions hold)', async () => {
    await expect(import('../readme-example.js')).resolves.toBeDefined();
  });
});
