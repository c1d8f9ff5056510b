import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logExtract } from '../src/run.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('a failed run prints what the nodes said', () => {
  it('keeps warnings, errors and events, not the per-block lines, and only the last 60', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-extract-'));
    dirs.push(dir);
    const line = (o: Record<string, unknown>): string =>
      JSON.stringify({ time: '2026-12-08T00:09:42.544Z', module: 'node', ...o });
    const lines = [
      '{"chaos":"start","atMs":1796688547190,"flags":[]}',
      line({ level: 'info', msg: 'committed block', height: 1, event: 'x' }),
      line({ level: 'info', msg: 'rpc listening' }),
      line({ level: 'info', msg: 'block sync', event: 'block_sync', height: 31 }),
      line({ level: 'warn', msg: 'blocks are decided again after a stall', event: 'partition_healed' }),
      'not json',
      ...Array.from({ length: 70 }, (_, i) => line({ level: 'error', msg: `boom ${i}` })),
    ];
    await writeFile(join(dir, 'node0.log'), `${lines.join('\n')}\n`);
    const all = await logExtract(join(dir, 'node0.log'));
    expect(all).toHaveLength(60);
    expect(all.at(-1)).toBe('00:09:42.544 error node: boom 69 {}');
    expect(all.some((l) => l.includes('committed block') || l.includes('rpc listening'))).toBe(false);

    await writeFile(join(dir, 'node1.log'), `${lines.slice(0, 6).join('\n')}\n`);
    expect(await logExtract(join(dir, 'node1.log'))).toEqual([
      '00:09:07.190 chaos: start {"flags":[]}',
      '00:09:42.544 info node: block sync {"event":"block_sync","height":31}',
      '00:09:42.544 warn node: blocks are decided again after a stall {"event":"partition_healed"}',
      'not json',
    ]);
    expect(await logExtract(join(dir, 'missing.log'))).toEqual(['(no log)']);
  });
});
