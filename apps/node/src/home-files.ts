/**
 * Writing and reading a home folder's files (layout in home.ts): `init` and
 * `testnet` write one home each; the other commands read them.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type KeyPair, loadNodeKey, loadValidatorKey, saveNodeKey, saveValidatorKey } from '@synod/crypto';
import { SynodError } from '@synod/types';
import { type ConfigOverride, type DaemonConfig, parseConfig } from './config/schema.js';
import { renderConfig } from './config/template.js';
import type { GenesisDoc } from './genesis.js';
import { CONFIG_DIR, CONFIG_FILE, DATA_DIR, inHome } from './home.js';
import { writeInitialSignerState } from './keys.js';

/** Everything one home folder holds at creation. */
export interface NewHome {
  readonly home: string;
  readonly config: DaemonConfig;
  readonly genesis: GenesisDoc;
  readonly nodeKey: KeyPair;
  readonly validatorKey: KeyPair;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Throws (CONFIG_INVALID) when `home` already holds a node's files: init never overwrites. */
export async function assertFreshHome(home: string): Promise<void> {
  for (const path of [CONFIG_DIR, DATA_DIR]) {
    if (await exists(join(home, path)))
      throw new SynodError(
        'CONFIG_INVALID',
        `${join(home, path)} already exists: refusing to overwrite a node home (choose another --home, or remove it first)`,
      );
  }
}

/** Writes a new home: config.toml, genesis.json, both keys (0600) and the initial signer state (0600). */
export async function writeHome(h: NewHome): Promise<void> {
  const { home, config } = h;
  await mkdir(join(home, CONFIG_DIR), { recursive: true, mode: 0o700 });
  await mkdir(join(home, DATA_DIR), { recursive: true, mode: 0o700 });
  const genesisPath = inHome(home, config.genesis_file);
  const nodeKeyPath = inHome(home, config.node_key_file);
  const validatorKeyPath = inHome(home, config.priv_validator_key_file);
  const statePath = inHome(home, config.priv_validator_state_file);
  for (const p of [genesisPath, nodeKeyPath, validatorKeyPath, statePath])
    await mkdir(dirname(p), { recursive: true, mode: 0o700 });
  await writeFile(join(home, CONFIG_FILE), renderConfig(config), { flag: 'wx', mode: 0o644 });
  await writeFile(genesisPath, `${JSON.stringify(h.genesis, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  await saveNodeKey(nodeKeyPath, h.nodeKey);
  await saveValidatorKey(validatorKeyPath, h.validatorKey);
  await writeInitialSignerState(statePath, h.validatorKey.seed);
}

/** Reads and checks HOME/config/config.toml, command-line `overrides` applied. */
export async function loadConfig(
  home: string,
  overrides: readonly ConfigOverride[] = [],
): Promise<DaemonConfig> {
  const file = join(home, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SynodError(
      'CONFIG_INVALID',
      code === 'ENOENT'
        ? `${file} not found: is ${home} a node home? (create one with \`synodd init --home ${home} --chain-id ID\`)`
        : `${file}: cannot read (${code ?? String(err)})`,
      { cause: err },
    );
  }
  return parseConfig(text, file, overrides);
}

/** The validator key of a home. */
export function readValidatorKey(home: string, config: DaemonConfig): Promise<KeyPair> {
  return loadValidatorKey(inHome(home, config.priv_validator_key_file));
}

/** The node key of a home. */
export function readNodeKey(home: string, config: DaemonConfig): Promise<KeyPair> {
  return loadNodeKey(inHome(home, config.node_key_file));
}
