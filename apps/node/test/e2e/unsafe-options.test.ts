/**
 * The test-only options of `synodd start` (`--unsafe-byzantine`,
 * `--unsafe-clock-skew-ms`): refused with one line on a chain whose id does
 * not start with `test-`, for an unknown mode, and for a skew the chain's
 * drift bound does not allow; on a test chain a Byzantine node starts and
 * says what it runs as.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBasePort, NodeProcess, portFlags, type RunResult, synodd, tempDir } from './harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  dir = await tempDir();
  expect((await synodd(['init', '--home', join(dir.path, 'real'), '--chain-id', 'synod-1'])).code).toBe(0);
  expect((await synodd(['init', '--home', join(dir.path, 'test'), '--chain-id', 'test-chaos'])).code).toBe(0);
});
afterAll(async () => {
  await dir.remove();
});

function refused(r: RunResult, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('test-only start options', () => {
  it('a Byzantine mode is refused on a chain id without the test- prefix', async () => {
    const p = await portFlags();
    const r = await synodd([
      'start',
      '--home',
      join(dir.path, 'real'),
      ...p.flags,
      '--unsafe-byzantine',
      'equivocate',
    ]);
    refused(r, /^synodd: CONFIG_INVALID: --unsafe-byzantine equivocate is for test chains only/);
  });

  it('a clock skew is refused on a real chain, and beyond the drift bound on a test chain', async () => {
    const p = await portFlags();
    refused(
      await synodd(['start', '--home', join(dir.path, 'real'), ...p.flags, '--unsafe-clock-skew-ms', '500']),
      /^synodd: CONFIG_INVALID: --unsafe-clock-skew-ms is for test chains only/,
    );
    refused(
      await synodd([
        'start',
        '--home',
        join(dir.path, 'test'),
        ...p.flags,
        '--unsafe-clock-skew-ms',
        '-10000',
      ]),
      /^synodd: CONFIG_INVALID: --unsafe-clock-skew-ms -10000: expected an integer of magnitude below/,
    );
  });

  it('an unknown mode is refused, naming the modes', async () => {
    const p = await portFlags();
    refused(
      await synodd(['start', '--home', join(dir.path, 'test'), ...p.flags, '--unsafe-byzantine', 'lie']),
      /expected one of equivocate, double-propose, silent, garbage, flood-votes/,
    );
  });

  it('on a test chain a Byzantine node starts and logs its mode', async () => {
    const p = await portFlags();
    const node = new NodeProcess([
      '--home',
      join(dir.path, 'test'),
      ...p.flags,
      '--unsafe-byzantine',
      'silent',
      '--unsafe-clock-skew-ms',
      '2000',
    ]);
    try {
      const line = await node.waitForLine((l) => l.event === 'byzantine_mode', 30_000);
      expect(line.mode).toBe('silent');
      await node.waitForLine((l) => l.event === 'clock_skew' && l.skewMs === 2000, 30_000);
      await node.waitForLine((l) => l.msg === 'synodd started', 30_000);
    } finally {
      await node.stop();
    }
  });

  it('a garbage-sending node starts, and its peer bans it', async () => {
    const out = join(dir.path, 'garbage-net');
    const base = await freeBasePort(2);
    const made = await synodd([
      'testnet',
      '--validators',
      '2',
      '--out',
      out,
      '--chain-id',
      'test-garbage',
      '--base-port',
      String(base),
    ]);
    expect(made.code, made.stderr).toBe(0);
    const garbagePeer = /node1 .* id (\S+)/.exec(made.stdout)?.[1];
    expect(garbagePeer).toBeDefined();
    const honest = new NodeProcess(['--home', join(out, 'node0')]);
    const garbage = new NodeProcess(['--home', join(out, 'node1'), '--unsafe-byzantine', 'garbage']);
    try {
      // Its own garbage must not keep the sender from starting (64 MiB oversize proposals every
      // 500 ms did: the start never finished).
      await garbage.waitForLine((l) => l.msg === 'synodd started', 60_000);
      await garbage.waitForLine((l) => l.event === 'byzantine_action', 30_000);
      const ban = await honest.waitForLine((l) => l.event === 'peer_banned', 60_000);
      expect(ban.peer).toBe(garbagePeer);
    } finally {
      await Promise.all([honest.stop(), garbage.stop()]);
    }
  }, 180_000);
});
