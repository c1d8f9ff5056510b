import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const ENTRY = resolve(src, 'validation-entry.ts');

/** Every module reachable from `entry` through relative imports, and every bare specifier they import. */
function importGraph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // static imports and re-exports (`import ... from 'x'`, `export ... from 'x'`, `import 'x'`) and dynamic imports
    const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
    for (const m of text.matchAll(re)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files, bare };
}

describe('@synod/p2p/validation', () => {
  it('reaches no libp2p module: only @synod/types and @synod/crypto outside the package', () => {
    const { files, bare } = importGraph(ENTRY);
    expect(files.has(resolve(src, 'validation/validate.ts'))).toBe(true);
    expect([...bare].sort()).toEqual(['@synod/crypto', '@synod/types']);
    for (const f of files) expect(f).not.toMatch(/network|adapter|node-transport|reqresp|peers/);
  });

  it('the graph check sees libp2p where it is (the root entry)', () => {
    const { bare } = importGraph(resolve(src, 'index.ts'));
    expect([...bare].some((s) => s === 'libp2p' || s.startsWith('@libp2p/'))).toBe(true);
  });

  it('is declared as a subpath export and exports the validation the network runs', async () => {
    const pkg = JSON.parse(readFileSync(resolve(src, '../package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    expect(pkg.exports['./validation']).toEqual({
      types: './dist/validation-entry.d.ts',
      source: './src/validation-entry.ts',
      import: './dist/validation-entry.js',
    });
    const entry = await import('../../src/validation-entry.js');
    const root = await import('../../src/index.js');
    expect(entry.validateGossipMessage).toBe(root.validateGossipMessage);
    expect(typeof entry.ProposalTracker).toBe('function');
  });
});
