/**
 * The home folder, laid out as CometBFT's:
 *
 *   HOME/config/config.toml              node configuration (TOML)
 *   HOME/config/genesis.json             the chain's genesis (CometBFT-shaped)
 *   HOME/config/node_key.json            the p2p identity (libp2p peer id)
 *   HOME/config/priv_validator_key.json  the validator's signing key (mode 0600)
 *   HOME/data/priv_validator_state.json  the signer's last-sign state (double-sign guard)
 *   HOME/data/db/                        LevelDB: blocks, chain state, application state, evidence
 *   HOME/data/wal/                       the consensus write-ahead log
 *
 * The file keys of config.toml (`genesis_file`, `node_key_file`, …) may move
 * any of them; relative paths are relative to HOME.
 */
import { isAbsolute, join, resolve } from 'node:path';

export const CONFIG_DIR = 'config';
export const DATA_DIR = 'data';
export const CONFIG_FILE = join(CONFIG_DIR, 'config.toml');

/** Default relative paths (config.toml's defaults). */
export const DEFAULT_FILES = Object.freeze({
  genesis_file: join(CONFIG_DIR, 'genesis.json'),
  node_key_file: join(CONFIG_DIR, 'node_key.json'),
  priv_validator_key_file: join(CONFIG_DIR, 'priv_validator_key.json'),
  priv_validator_state_file: join(DATA_DIR, 'priv_validator_state.json'),
  db_dir: DATA_DIR,
});

/** `path` resolved against `home` (absolute paths are kept). */
export function inHome(home: string, path: string): string {
  return isAbsolute(path) ? path : resolve(home, path);
}

/** The home folder from --home, $SYNODD_HOME or ~/.synodd. */
export function resolveHome(flag: string | undefined): string {
  const home = flag ?? process.env.SYNODD_HOME ?? join(process.env.HOME ?? '.', '.synodd');
  return resolve(home);
}
