/**
 * `[consensus] halt_height` (here `start --halt-height H`) on a
 * 4-validator testnet of real synodd processes: every node stops after
 * committing H with exit 0 and a `halt height reached` line, none executes
 * a block above H; a restart with the key still set refuses (exit 1, one
 * line); the "new build" (the nodes restarted without it) continues the
 * chain from H (block H + 1 builds on block H); a follower started late
 * with a halt height below the tip block-syncs to it and stops there.
 *
 * About a minute: `pnpm --filter @synod/node-daemon test:long`.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  executedBlocks,
  freeBasePort,
  heightOf,
  lastHeight,
  type NodeProcess,
  processGroup,
  rpc,
  type Status,
  synodd,
  until,
} from '../e2e/harness.js';

const { dir, start } = processGroup();

describe('halt height on a testnet', () => {
  it('halt_height: every node stops after committing H (exit 0); restarted without it, the chain continues from H', async () => {
    const base = await freeBasePort(5);
    const out = join(dir(), 'halt');
    const written = await synodd([
      'testnet',
      '--validators',
      '4',
      '--non-validators',
      '1',
      '--out',
      out,
      '--chain-id',
      'e2e-halt',
      '--base-port',
      String(base),
    ]);
    expect(written.code, written.stderr).toBe(0);
    const H = 5;
    const home = (i: number): string => join(out, `node${i}`);
    const rpcPort = (i: number): number => base + 10 * i + 1;
    const logFlags = ['--log_level', 'daemon:debug,*:info'];
    const first = [0, 1, 2, 3].map((i) =>
      start(['--home', home(i), ...logFlags, '--halt-height', String(H)]),
    );
    const codes = await Promise.race([
      Promise.all(first.map((n) => n.exited)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the nodes did not all stop at the halt height')), 90_000),
      ),
    ]);
    expect(codes).toEqual([0, 0, 0, 0]);
    for (const n of first) {
      const line = n.lines.find((l) => l.msg === 'halt height reached: stopping');
      expect(line?.height, n.stderr).toBe(H);
      expect(line?.event).toBe('halt_height');
      expect(lastHeight(n)).toBe(H);
      expect(n.lines.find((l) => l.msg === 'synodd stopped')?.height).toBe(H);
    }

    // The key still set: the node refuses to start, one line naming the key.
    const again = await synodd(['start', '--home', home(0), '--halt-height', String(H)], 60_000);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(
      /halt height 5: this node already committed height 5; remove \[consensus\] halt_height/,
    );

    // The "new build": restarted without a halt height, the chain continues from H. A node logs
    // `synodd started` after its start-up block sync: one that starts after three others already
    // made blocks above H reports those too (seen on a slow VM: 7), so the line says at least H;
    // continuity is checked below (block H + 1 builds on block H).
    const second = [0, 1, 2, 3].map((i) => start(['--home', home(i), ...logFlags]));
    for (const n of second) {
      const started = await n.waitForLine((l) => l.msg === 'synodd started', 30_000);
      expect(started.height).toBeGreaterThanOrEqual(H);
    }
    await until(() => second.every((n) => lastHeight(n) >= H + 3), 'the chain continues past H', 60_000);
    const s = await rpc<Status>(rpcPort(0), 'status');
    expect(heightOf(s)).toBeGreaterThanOrEqual(H + 3);
    // One chain: block H + 1 builds on block H, the same on every node.
    const blockH = executedBlocks(first[0] as NodeProcess).get(H);
    const header = await rpc<{ block: { header: { last_block_id: { hash: string } } } }>(
      rpcPort(1),
      'block',
      {
        height: String(H + 1),
      },
    );
    expect(header.block.header.last_block_id.hash).toBe(blockH?.toUpperCase());
    // A follower started late with a halt height below the tip: block sync stops there, and so does it.
    await until(() => second.every((n) => lastHeight(n) >= H + 6), 'the chain at H + 6', 60_000);
    const follower = start(['--home', home(4), ...logFlags, '--halt-height', String(H + 2)]);
    expect(await follower.exited).toBe(0);
    expect(lastHeight(follower)).toBe(H + 2);
    expect(follower.lines.find((l) => l.msg === 'synodd stopped')?.height).toBe(H + 2);
    expect(executedBlocks(follower).get(H + 2)).toBe(executedBlocks(second[0] as NodeProcess).get(H + 2));
    const stops = await Promise.all(second.map((n) => n.stop('SIGTERM')));
    expect(stops.map((x) => x.code)).toEqual([0, 0, 0, 0]);
  }, 240_000);
});
