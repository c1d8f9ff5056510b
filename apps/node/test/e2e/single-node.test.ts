/**
 * One real synodd process on 127.0.0.1: init writes a home; start commits
 * blocks alone (no peers configured); SIGTERM stops it with exit 0 within
 * 5 s; a restart continues from the height and app hash it stopped at.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heightOf, NodeProcess, portFlags, rpc, synodd, tempDir, waitForStatus } from './harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

describe('synodd single node', () => {
  it('init writes the home (keys and signer state 0600) and refuses to overwrite it', async () => {
    const home = join(dir.path, 'init');
    const r = await synodd(['init', '--home', home, '--chain-id', 'e2e-init', '--moniker', 'n0']);
    expect(r.code).toBe(0);
    for (const [file, mode] of [
      ['config/config.toml', 0o644],
      ['config/genesis.json', 0o644],
      ['config/node_key.json', 0o600],
      ['config/priv_validator_key.json', 0o600],
      ['data/priv_validator_state.json', 0o600],
    ] as const)
      expect(((await stat(join(home, file))).mode & 0o777).toString(8), file).toBe(mode.toString(8));
    const genesis = JSON.parse(await readFile(join(home, 'config/genesis.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(Object.keys(genesis)).toEqual([
      'genesis_time',
      'chain_id',
      'initial_height',
      'consensus_params',
      'validators',
      'app_hash',
      'app_state',
    ]);
    const shown = await synodd(['show-validator', '--home', home]);
    const validators = genesis.validators as { pub_key: unknown }[];
    expect(JSON.parse(shown.stdout)).toEqual(validators[0]?.pub_key);
    const id = await synodd(['show-node-id', '--home', home]);
    expect(id.stdout.trim()).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/);

    const before = await readFile(join(home, 'config/priv_validator_key.json'), 'utf8');
    const again = await synodd(['init', '--home', home, '--chain-id', 'other']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/already exists: refusing to overwrite/);
    expect(await readFile(join(home, 'config/priv_validator_key.json'), 'utf8')).toBe(before);
  });

  it('start commits blocks alone; SIGTERM exits 0 in < 5 s; a restart continues from the same height and app hash', async () => {
    const home = join(dir.path, 'run');
    expect((await synodd(['init', '--home', home, '--chain-id', 'e2e-single'])).code).toBe(0);
    const ports = await portFlags();
    const first = new NodeProcess(['--home', home, ...ports.flags]);
    const s = await waitForStatus(ports.rpc, (st) => heightOf(st) >= 3);
    expect(s.node_info.network).toBe('e2e-single');
    expect(s.sync_info.catching_up).toBe(false);
    expect(s.validator_info.voting_power).toBe('10');
    expect(s.sync_info.latest_block_hash).toMatch(/^[0-9A-F]{64}$/);
    expect(await rpc(ports.rpc, 'health')).toEqual({});
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/^synod_node_height [1-9]/m);
    expect(metrics).toMatch(/^synod_consensus_height /m);
    // A lone validator builds, executes and updates its mempool for every block it commits.
    for (const phase of ['build', 'execute', 'mempool'])
      expect(metrics).toMatch(
        new RegExp(`^synod_node_block_phase_seconds_count\\{phase="${phase}"\\} [1-9]`, 'm'),
      );

    const stop = await first.stop('SIGTERM');
    expect(stop.code).toBe(0);
    expect(stop.ms).toBeLessThan(5000);
    const stopped = first.lines.find((l) => l.msg === 'synodd stopped');
    expect(stopped).toBeDefined();
    expect(stopped?.height as number).toBeGreaterThanOrEqual(3);

    const second = new NodeProcess(['--home', home, ...ports.flags]);
    const started = await second.waitForLine((l) => l.msg === 'synodd started');
    expect(started.height).toBe(stopped?.height);
    expect(started.appHash).toBe(stopped?.appHash);
    await waitForStatus(ports.rpc, (st) => heightOf(st) >= (stopped?.height as number) + 2);
    expect((await second.stop('SIGINT')).code).toBe(0);
  });
});
