import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../scripts/mutant-list.js';
import { runMutant } from '../scripts/mutants.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('pnpm sim:mutants', () => {
  it('every mutant still applies: each anchor occurs in its file exactly as often as the list says', () => {
    const ids = new Set<string>();
    for (const m of MUTANTS) {
      expect(ids.has(m.id)).toBe(false);
      ids.add(m.id);
      for (const r of m.replace) {
        const text = readFileSync(join(ROOT, r.file), 'utf8');
        expect({ mutant: m.id, file: r.file, count: text.split(r.from).length - 1 }).toEqual({
          mutant: m.id,
          file: r.file,
          count: r.count ?? 1,
        });
        expect(r.to).not.toBe(r.from);
      }
    }
    // one per rule the issue names, at least
    expect(MUTANTS.length).toBeGreaterThanOrEqual(15);
  });

  it('catches the core that ignores its lock at L22 (agreement), on a copy of the sources, and the seed passes on the correct code', async () => {
    const m = MUTANTS.find((x) => x.id === 'l22-ignore-lock');
    if (m === undefined) throw new Error('no l22 mutant');
    const r = await runMutant(m, 1, 30);
    expect(r.caught).toMatchObject({ ok: false, class: 'safety', check: 'agreement' });
    expect(r.confirmed).toBe(true);
    expect(r.met).toBe(true);
  }, 600_000);
});
