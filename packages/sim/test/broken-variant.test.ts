import { describe, expect, it } from 'vitest';
import { runSimulation, type SimResult } from '../src/index.js';

describe('the checkers can fail', () => {
  it('a core that ignores its lock at L22 is caught as a safety violation within 1,000 seeds', async () => {
    let caught: SimResult | undefined;
    for (let seed = 1; seed <= 1000 && caught === undefined; seed++) {
      const r = await runSimulation({ seed, mutation: 'ignore-lock-l22' });
      if (!r.ok) caught = r;
    }
    expect(caught).toBeDefined();
    expect(caught?.failure?.class).toBe('safety');
    expect(caught?.failure?.check).toBe('agreement');
    // The same seed with the production core is safe.
    const fixed = await runSimulation({ seed: caught?.seed ?? 0 });
    expect(fixed.failure?.class).not.toBe('safety');
  }, 600_000);
});
