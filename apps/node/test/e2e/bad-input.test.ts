/**
 * Bad input stops synodd with exit 1 and one clear line on stderr, before
 * it writes anything: an unknown config key, a bad value, a bad address, a
 * corrupt genesis, a home in use by another process, a port in use. (The
 * message of every rule is covered by the config and genesis unit tests;
 * these check the process: exit code, one line on stderr, nothing written.)
 */
import { access, appendFile, cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  heightOf,
  NodeProcess,
  portFlags,
  type RunResult,
  synodd,
  tempDir,
  waitForStatus,
} from './harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let template: string;

beforeAll(async () => {
  dir = await tempDir();
  template = join(dir.path, 'template');
  expect((await synodd(['init', '--home', template, '--chain-id', 'e2e-bad'])).code).toBe(0);
});
afterAll(async () => {
  await dir.remove();
});

let n = 0;
/** A fresh copy of the template home. */
async function home(): Promise<string> {
  const h = join(dir.path, `home${n++}`);
  await cp(template, h, { recursive: true });
  return h;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function oneLine(r: RunResult, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('synodd refuses bad input with one line', () => {
  it('an unknown config key names the key and the allowed ones; nothing is written', async () => {
    const h = await home();
    const text = await readFile(join(h, 'config/config.toml'), 'utf8');
    await writeFile(
      join(h, 'config/config.toml'),
      text.replace('[p2p]\n', '[p2p]\nmax_num_inbound_peers = 40\n'),
    );
    const r = await synodd(['start', '--home', h]);
    oneLine(
      r,
      /^synodd: CONFIG_INVALID: .*config\.toml: \[p2p\] max_num_inbound_peers: not a Synod key: .*max_peers/,
    );
    expect(await exists(join(h, 'data/db'))).toBe(false);
  });

  it('a bad value or a bad address names the key (or the flag) and what is allowed', async () => {
    const h = await home();
    const text = await readFile(join(h, 'config/config.toml'), 'utf8');
    await writeFile(join(h, 'config/config.toml'), text.replace('size = 5000', 'size = "big"'));
    oneLine(await synodd(['start', '--home', h]), /\[mempool\] size: expected an integer ≥ 1, got "big"$/);
    await writeFile(join(h, 'config/config.toml'), text);
    oneLine(
      await synodd(['start', '--home', h, '--p2p.persistent_peers', 'abc@127.0.0.1:1']),
      /^synodd: CONFIG_INVALID: --p2p.persistent_peers: expected a comma-separated list of ID@HOST:PORT/,
    );
    expect(await exists(join(h, 'data/db'))).toBe(false);
  });

  it('a corrupt genesis is refused with the field and the rule', async () => {
    const h = await home();
    const path = join(h, 'config/genesis.json');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.length / 2));
    oneLine(
      await synodd(['start', '--home', h]),
      /^synodd: GENESIS_INVALID: .*genesis\.json: not valid JSON/,
    );
    await writeFile(path, text.replace(/"power": "10"/, '"power": "7"'));
    oneLine(
      await synodd(['start', '--home', h]),
      /validators\[0\]\.power: 7, but app_state gives this validator power 10$/,
    );
    expect(await exists(join(h, 'data/db'))).toBe(false);
  });

  it('a home in use and a port in use are refused; the signer state is untouched', async () => {
    const h = await home();
    const ports = await portFlags();
    const running = new NodeProcess(['--home', h, ...ports.flags]);
    try {
      await waitForStatus(ports.rpc, (s) => heightOf(s) >= 1);
      const other = await portFlags();
      oneLine(
        await synodd(['start', '--home', h, ...other.flags]),
        /^synodd: STORAGE_LOCKED: home .* is in use by another synodd process/,
      );
      const h2 = await home();
      const state = await readFile(join(h2, 'data/priv_validator_state.json'), 'utf8');
      const clash = other.flags.map((f) =>
        f === `tcp://127.0.0.1:${other.rpc}` ? `tcp://127.0.0.1:${ports.rpc}` : f,
      );
      oneLine(
        await synodd(['start', '--home', h2, ...clash]),
        new RegExp(
          `^synodd: CONFIG_INVALID: \\[rpc\\] laddr tcp://127\\.0\\.0\\.1:${ports.rpc}: cannot listen: the address is in use`,
        ),
      );
      const p2pClash = other.flags.map((f) =>
        f === `tcp://127.0.0.1:${other.p2p}` ? `tcp://127.0.0.1:${ports.p2p}` : f,
      );
      oneLine(
        await synodd(['start', '--home', h2, ...p2pClash]),
        /^synodd: CONFIG_INVALID: \[p2p\] laddr tcp:\/\/127\.0\.0\.1:\d+: cannot listen: the address is in use/,
      );
      expect(await readFile(join(h2, 'data/priv_validator_state.json'), 'utf8')).toBe(state);
    } finally {
      expect((await running.stop()).code).toBe(0);
    }
  });

  it('a missing signer state file stops the start (the validator would not know what it signed)', async () => {
    const h = await home();
    const { rm } = await import('node:fs/promises');
    await rm(join(h, 'data/priv_validator_state.json'));
    await appendFile(join(h, 'config/config.toml'), '');
    const ports = await portFlags();
    oneLine(await synodd(['start', '--home', h, ...ports.flags]), /priv_validator_state\.json is missing/);
  });
});
