/**
 * SIGTERM to a synodd that is still block-syncing at start (catching up a
 * chain whose validator keeps making blocks): the start ends at a block, the
 * process exits 0 with its `synodd stopped` line (it never says `synodd
 * started`), and the next start resumes the sync from the last stored block.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  freeBasePort,
  heightOf,
  type LogLine,
  type NodeProcess,
  processGroup,
  rpc,
  synodd,
  waitForStatus,
} from './harness.js';

const { dir, start } = processGroup();

const isSyncStart = (l: LogLine): boolean => l.module === 'node' && l.msg === 'block sync';
const said = (n: NodeProcess, msg: string): boolean =>
  n.lines.some((l) => l.module === 'daemon' && l.msg === msg);

describe('synodd stopped during block sync', () => {
  it('SIGTERM while catching up: exit 0 at a block, never started; the restart resumes from there', async () => {
    const base = await freeBasePort(2);
    const out = join(dir(), 'net');
    const written = await synodd([
      'testnet',
      '--validators',
      '1',
      '--non-validators',
      '1',
      '--out',
      out,
      '--chain-id',
      'e2e-stop-sync',
      '--base-port',
      String(base),
    ]);
    expect(written.code, written.stderr).toBe(0);
    const home = (i: number): string => join(out, `node${i}`);
    // The validator alone, as fast as its timeouts allow: the follower has a few hundred blocks to catch up.
    const validator = start(['--home', home(0), '--consensus.timeout_scale', '0.1']);
    await waitForStatus(base + 1, (s) => heightOf(s) >= 250, 60_000);

    // The follower starts, block-syncs (the validator keeps making blocks), and gets SIGTERM at once.
    const follower = start(['--home', home(1)]);
    const syncing = await follower.waitForLine(isSyncStart, 30_000);
    const target = Number(syncing.target);
    expect(target).toBeGreaterThanOrEqual(250);
    const stopped = await follower.stop('SIGTERM');
    expect(stopped.code, follower.stderr).toBe(0);
    expect(said(follower, 'synodd started')).toBe(false);
    expect(follower.lines.some((l) => l.msg === 'block sync done')).toBe(false);
    const end = follower.lines.find((l) => l.module === 'daemon' && l.msg === 'synodd stopped');
    expect(end, 'the synodd stopped line').toBeDefined();
    const at = Number(end?.height);
    expect(at).toBeLessThan(target);

    // The restart resumes the sync after the last stored block, catches up, and runs.
    const again = start(['--home', home(1)]);
    const resumed = await again.waitForLine(isSyncStart, 30_000);
    expect(resumed.height).toBe(at);
    await again.waitForLine((l) => l.module === 'daemon' && l.msg === 'synodd started', 60_000);
    await waitForStatus(base + 11, (s) => heightOf(s) >= target, 30_000);
    // The same chain on both sides of the stop.
    const hashAt = async (port: number, height: number): Promise<string> =>
      (await rpc<{ block_id: { hash: string } }>(port, 'block', { height: String(height) })).block_id.hash;
    for (const h of [Math.max(1, at), at + 1, target])
      expect(await hashAt(base + 11, h), `height ${h}`).toBe(await hashAt(base + 1, h));

    const stops = await Promise.all([again.stop('SIGTERM'), validator.stop('SIGTERM')]);
    expect(stops.map((s) => s.code)).toEqual([0, 0]);
  }, 120_000);
});
