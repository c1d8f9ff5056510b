/**
 * `unsafe-reset-all` and `rollback`: the commands that change a stopped
 * node's data. Both take the home's lock first (LevelDB's), so they refuse
 * to run beside a running node.
 */
import { rm } from 'node:fs/promises';
import { Ledger } from '@synod/ledger';
import { handshake } from '@synod/node';
import {
  FileSignerStateStore,
  KEY_PREFIX,
  type NodeStorage,
  openNodeStorage,
  storagePaths,
} from '@synod/storage';
import { noopLogger, SynodError } from '@synod/types';
import type { DaemonConfig } from '../config/schema.js';
import { loadGenesis } from '../genesis.js';
import { inHome } from '../home.js';
import { readValidatorKey } from '../home-files.js';
import { writeInitialSignerState } from '../keys.js';

async function openLocked(home: string, config: DaemonConfig): Promise<NodeStorage> {
  const dataDir = inHome(home, config.db_dir);
  try {
    return await openNodeStorage({ dataDir });
  } catch (err) {
    if (err instanceof SynodError && err.code === 'STORAGE_LOCKED')
      throw new SynodError(
        'STORAGE_LOCKED',
        `home ${home} is in use by a running synodd (its database is locked): stop it first`,
        { cause: err },
      );
    throw err;
  }
}

export interface ResetResult {
  readonly removed: readonly string[];
  /** The signer state kept (its height), or undefined when it was reset. */
  readonly keptSignerHeight: number | undefined;
}

/**
 * Removes the blocks, chain and application state, evidence and the WAL
 * (db/ and wal/ under db_dir). The signer's last-sign state is kept unless
 * `resetSigner`: with it the validator never signs again at a height it
 * signed, so it cannot double-sign when it rejoins the same chain; a new
 * chain with the same key needs `resetSigner`.
 */
export async function unsafeResetAll(
  home: string,
  config: DaemonConfig,
  resetSigner: boolean,
): Promise<ResetResult> {
  const storage = await openLocked(home, config);
  await storage.close();
  const paths = storagePaths(inHome(home, config.db_dir));
  await rm(paths.database, { recursive: true, force: true });
  await rm(paths.wal, { recursive: true, force: true });
  const statePath = inHome(home, config.priv_validator_state_file);
  if (resetSigner) {
    const key = await readValidatorKey(home, config);
    await writeInitialSignerState(statePath, key.seed);
    return { removed: [paths.database, paths.wal], keptSignerHeight: undefined };
  }
  const last = await new FileSignerStateStore(statePath).load();
  return { removed: [paths.database, paths.wal], keptSignerHeight: last?.height ?? 0 };
}

/** The chain state and application state key ranges of the state store (@synod/storage's key layout). */
const STATE_PREFIXES = [
  KEY_PREFIX.appState,
  KEY_PREFIX.validatorSet,
  KEY_PREFIX.consensusParams,
  KEY_PREFIX.stateInfo,
];

/**
 * CometBFT's `rollback`: the node's state goes back one height, from H to
 * H − 1; block H stays in the block store, so the next start executes it
 * again (e.g. with a fixed binary, after a wrong app hash at H). The
 * ledger cannot revert one height, so the state is rebuilt: the
 * application and chain state are removed (one atomic batch) and the
 * stored blocks 1 … H − 1 are executed again by the node's handshake.
 * Needs every block since genesis (no pruning).
 */
export async function rollback(home: string, config: DaemonConfig): Promise<{ from: number; to: number }> {
  const genesis = await loadGenesis(inHome(home, config.genesis_file));
  let storage = await openLocked(home, config);
  try {
    const info = await storage.state.loadStateInfo();
    const from = info?.height ?? 0;
    if (from === 0)
      throw new SynodError('STORAGE_NOT_FOUND', `home ${home} has no executed block: nothing to roll back`);
    if (storage.blocks.base() > 1)
      throw new SynodError(
        'STORAGE_NOT_FOUND',
        `the block store starts at height ${storage.blocks.base()} (pruned): rollback re-executes blocks from height 1`,
      );
    const to = from - 1;
    const deletes = [];
    for (const prefix of STATE_PREFIXES)
      for await (const { key } of storage.kv.iterate({
        gte: Uint8Array.of(prefix),
        lt: Uint8Array.of(prefix + 1),
      }))
        deletes.push({ type: 'del' as const, key });
    await storage.kv.batch(deletes, { sync: true });
    // Reopen: the stores keep what they loaded at open.
    await storage.close();
    storage = await openLocked(home, config);
    const blocks = storage.blocks;
    // The handshake executes the stored blocks up to the block store's height: show it H − 1.
    const upToTarget = new Proxy(blocks, {
      get(target, property) {
        if (property === 'height') return () => to;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const application = await Ledger.open({ kv: storage.state.appState });
    const result = await handshake({
      application,
      storage: { ...storage, blocks: upToTarget },
      genesis,
      blockTimesCacheHeights: 1,
      logger: noopLogger,
    });
    if (result.chain.height !== to)
      throw new SynodError(
        'INTERNAL',
        `rollback: the state was rebuilt to height ${result.chain.height}, not ${to}`,
      );
    return { from, to };
  } finally {
    await storage.close();
  }
}
