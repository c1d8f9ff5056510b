import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { percentile, topFunctions } from '../../scripts/bench-cluster/measure.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('bench:cluster measurements', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('takes percentiles by nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 100)).toBe(5);
    expect(percentile([10, 20], 1)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
  });

  it('ranks functions by self time over every profile, idle left out, files named from the repository', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-prof-'));
    dirs.push(dir);
    const nodes = [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('verify', 'file:///x/packages/crypto/dist/ed25519.js', 9) },
      {
        id: 4,
        callFrame: frame('encode', 'file:///x/node_modules/.pnpm/a/node_modules/@chainsafe/ssz/lib/x.js', 0),
      },
    ];
    // node 3: 3 ms + 3 ms, node 4: 2 ms, idle: 100 ms (time deltas in µs)
    const a = { nodes, samples: [3, 2, 4], timeDeltas: [3000, 100_000, 2000] };
    const b = { nodes, samples: [3], timeDeltas: [3000] };
    await writeFile(join(dir, 'a.cpuprofile'), JSON.stringify(a));
    await writeFile(join(dir, 'b.cpuprofile'), JSON.stringify(b));
    await writeFile(join(dir, 'other.json'), '{}');
    const { top, profiles, busyMs } = await topFunctions(dir, 5);
    expect(profiles).toBe(2);
    expect(busyMs).toBe(8);
    expect(top.map((f) => f.fn)).toEqual([
      'verify (packages/crypto/dist/ed25519.js:10)',
      'encode (@chainsafe/ssz/lib/x.js:1)',
    ]);
    expect(top[0]?.selfPct).toBeCloseTo(75);
    expect(top[1]?.selfPct).toBeCloseTo(25);
  });
});
