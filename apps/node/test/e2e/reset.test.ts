/**
 * rollback and unsafe-reset-all on a real home: rollback takes the state one
 * height back and the next start executes that block again (same app hash);
 * unsafe-reset-all removes the chain data, keeps the signer's last-sign
 * state (so the validator refuses to sign the heights again) unless
 * --reset-signer; both refuse to run beside a running node.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heightOf, NodeProcess, portFlags, signedHeight, synodd, tempDir, waitForStatus } from './harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

describe('synodd rollback and unsafe-reset-all', () => {
  it('rollback: one height back, the block executed again at the next start to the same app hash', async () => {
    const home = join(dir.path, 'rb');
    expect((await synodd(['init', '--home', home, '--chain-id', 'e2e-rb'])).code).toBe(0);
    const ports = await portFlags();
    const first = new NodeProcess(['--home', home, ...ports.flags]);
    await waitForStatus(ports.rpc, (s) => heightOf(s) >= 4);
    const busy = await synodd(['rollback', '--home', home]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^synodd: STORAGE_LOCKED: home .* is in use by a running synodd/);
    expect((await first.stop()).code).toBe(0);
    const stopped = first.lines.find((l) => l.msg === 'synodd stopped');
    const h = stopped?.height as number;

    const r = await synodd(['rollback', '--home', home]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `rolled back the state from height ${h} to ${h - 1}; block ${h} is executed again at the next start\n`,
    );

    const second = new NodeProcess(['--home', home, ...ports.flags]);
    const replayed = await second.waitForLine((l) => l.msg === 'replayed blocks');
    expect(replayed.replayed).toBe(1);
    const started = await second.waitForLine((l) => l.msg === 'synodd started');
    expect(started.height).toBe(h);
    expect(started.appHash).toBe(stopped?.appHash);
    await waitForStatus(ports.rpc, (s) => heightOf(s) >= h + 2);
    expect((await second.stop()).code).toBe(0);
  });

  it('unsafe-reset-all keeps the signer state (no signing at old heights) unless --reset-signer', async () => {
    const home = join(dir.path, 'reset');
    expect((await synodd(['init', '--home', home, '--chain-id', 'e2e-reset'])).code).toBe(0);
    const ports = await portFlags();
    const first = new NodeProcess(['--home', home, ...ports.flags]);
    await waitForStatus(ports.rpc, (s) => heightOf(s) >= 3);
    expect((await first.stop()).code).toBe(0);
    const signed = await signedHeight(home);
    expect(signed).toBeGreaterThanOrEqual(3);

    const kept = await synodd(['unsafe-reset-all', '--home', home]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(
      new RegExp(`kept the signer state \\(last signed height ${signed}\\).*cannot double-sign`),
    );
    await expect(access(join(home, 'data/db'))).rejects.toThrow();
    expect(await signedHeight(home)).toBe(signed);
    // The chain starts again at height 1, which this validator already signed: it refuses, so no block.
    const refused = new NodeProcess(['--home', home, ...ports.flags]);
    await refused.waitForLine((l) => l.msg === 'synodd started');
    await refused.waitForLine((l) => l.code === 'SIGNER_REGRESSION' && l.height === 1);
    expect(refused.lines.some((l) => l.msg === 'executed block')).toBe(false);
    expect((await refused.stop()).code).toBe(0);

    const reset = await synodd(['unsafe-reset-all', '--home', home, '--reset-signer']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/reset the signer state/);
    expect(await signedHeight(home)).toBe(0);
    const again = new NodeProcess(['--home', home, ...ports.flags]);
    await waitForStatus(ports.rpc, (s) => heightOf(s) >= 2);
    expect((await again.stop()).code).toBe(0);
  });

  it('testnet refuses a non-empty --out and bad counts with one line', async () => {
    const out = join(dir.path, 'rb');
    const r = await synodd(['testnet', '--validators', '2', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^synodd: CONFIG_INVALID: --out .* is not empty: refusing to overwrite/);
    const zero = await synodd(['testnet', '--validators', '0', '--out', join(dir.path, 'none')]);
    expect(zero.stderr).toMatch(/^synodd: CONFIG_INVALID: --validators 0: expected an integer in \[1, 100\]/);
    const hosts = await synodd([
      'testnet',
      '--validators',
      '2',
      '--out',
      join(dir.path, 'none'),
      '--hosts',
      'a.example',
    ]);
    expect(hosts.stderr).toMatch(/--hosts: 1 hosts given for 2 nodes/);
  });
});
