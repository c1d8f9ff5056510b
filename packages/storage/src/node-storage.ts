import { join } from 'node:path';
import type { ConsensusWal, Logger, Metrics, SignerStateStore } from '@synod/types';
import { BlockStore } from './block-store.js';
import { EvidenceStore } from './evidence-store.js';
import { directorySize } from './fs-util.js';
import { GroupedKvStore, type WriteGroupStats } from './kv/grouped-kv-store.js';
import type { KvStore } from './kv/kv-store.js';
import { type LevelKvStoreOptions, openLevelKvStore } from './kv/level-kv-store.js';
import { createMemoryKvStore } from './kv/memory-kv-store.js';
import { FileSignerStateStore, MemorySignerStateStore } from './signer/signer-state-file.js';
import { StateStore } from './state-store.js';
import { type FileWalOptions, openFileWal, type WalRecovery } from './wal/file-wal.js';
import { MemoryConsensusWal } from './wal/memory-wal.js';

/** Disk usage in bytes, per store. */
export interface StorageDiskUsage {
  /** Block store (approximate: LevelDB tables; writes still in the memtable are not counted yet). */
  readonly blocks: number;
  /** State store, application state included (approximate, as `blocks`). */
  readonly state: number;
  readonly evidence: number;
  /** Consensus WAL segment files (exact). */
  readonly wal: number;
  /** The whole database folder, every LevelDB file included (exact; memory: approximate). */
  readonly database: number;
  /** `database + wal`. */
  readonly total: number;
}

/** Everything a node keeps on disk, opened together. */
export interface NodeStorage {
  /** The database every store writes through (group commit: see `writeGroup`). */
  readonly kv: KvStore;
  readonly blocks: BlockStore;
  readonly state: StateStore;
  readonly evidence: EvidenceStore;
  readonly wal: ConsensusWal;
  readonly signerState: SignerStateStore;
  /** What opening the WAL repaired (a torn tail cut), for the file WAL. */
  readonly walRecovery: WalRecovery | undefined;
  /**
   * Runs `fn` and writes everything it wrote to the database — block, state,
   * evidence, application and RPC records, through `kv` or any view over it —
   * as one atomic batch when it returns (`GroupedKvStore.group`): the records
   * of a height, or of a range of synced heights, are on disk together or not
   * at all. Nested calls join the outer group.
   */
  writeGroup<T>(fn: () => Promise<T>): Promise<T>;
  /** How many writes groups took and how many batches they wrote. */
  writeGroupStats(): WriteGroupStats;
  diskUsage(): Promise<StorageDiskUsage>;
  /** Closes the WAL (flushing it) and then the database. */
  close(): Promise<void>;
}

export interface NodeStorageOptions {
  /** The node's data folder; see `storagePaths` for what goes where. */
  readonly dataDir: string;
  readonly level?: LevelKvStoreOptions;
  readonly wal?: Omit<FileWalOptions, 'logger' | 'metrics'>;
  /** fsync block, state and evidence writes. @default true */
  readonly syncWrites?: boolean;
  readonly logger?: Logger;
  /** Storage metrics (the WAL's `synod_wal_fsync_seconds`). */
  readonly metrics?: Metrics;
}

/** The files and folders under a node's data folder. */
export function storagePaths(dataDir: string): { database: string; wal: string; signerState: string } {
  return {
    database: join(dataDir, 'db'),
    wal: join(dataDir, 'wal'),
    signerState: join(dataDir, 'signer-state.json'),
  };
}

/** The database part of a `NodeStorage`: the stores over one group-committing view of `database`. */
export type NodeStores = Pick<
  NodeStorage,
  'kv' | 'blocks' | 'state' | 'evidence' | 'writeGroup' | 'writeGroupStats'
>;

/**
 * The block, state and evidence stores over `database`, through one
 * `GroupedKvStore` (`writeGroup` batches what they write), as
 * `openNodeStorage` assembles them: for hosts that bring their own database,
 * WAL and signer state (the simulator's disks, tests that watch the writes).
 */
export async function openStores(
  database: KvStore,
  options: { readonly syncWrites: boolean },
): Promise<NodeStores> {
  const kv = new GroupedKvStore(database);
  return {
    kv,
    blocks: await BlockStore.open(kv, options),
    state: await StateStore.open(kv, options),
    evidence: await EvidenceStore.open(kv, options),
    writeGroup: (fn) => kv.group(fn),
    writeGroupStats: () => kv.stats(),
  };
}

async function assemble(
  database: KvStore,
  wal: ConsensusWal & { diskUsage?: () => Promise<number> },
  signerState: SignerStateStore,
  syncWrites: boolean,
  databaseSize: () => Promise<number>,
  walRecovery: WalRecovery | undefined,
): Promise<NodeStorage> {
  const stores = await openStores(database, { syncWrites });
  const { kv, blocks, state, evidence } = stores;
  return {
    ...stores,
    wal,
    signerState,
    walRecovery,
    async diskUsage() {
      const walBytes = wal.diskUsage === undefined ? 0 : await wal.diskUsage();
      const database = await databaseSize();
      return {
        blocks: await blocks.diskUsage(),
        state: await state.diskUsage(),
        evidence: await evidence.diskUsage(),
        wal: walBytes,
        database,
        total: database + walBytes,
      };
    },
    async close() {
      try {
        await wal.close();
        if (signerState instanceof FileSignerStateStore) await signerState.close();
      } finally {
        await kv.close();
      }
    },
  };
}

/**
 * Opens a node's storage under `dataDir`: the LevelDB database (`db/`) with
 * the block, state and evidence stores, the consensus WAL (`wal/`, recovered)
 * and the signer state file (`signer-state.json`).
 */
export async function openNodeStorage(options: NodeStorageOptions): Promise<NodeStorage> {
  const paths = storagePaths(options.dataDir);
  const kv = await openLevelKvStore(paths.database, options.level);
  try {
    const wal = await openFileWal(paths.wal, {
      ...options.wal,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
    try {
      return await assemble(
        kv,
        wal,
        new FileSignerStateStore(paths.signerState),
        options.syncWrites ?? true,
        () => directorySize(paths.database),
        wal.recovery,
      );
    } catch (err) {
      await wal.close().catch(() => undefined);
      throw err;
    }
  } catch (err) {
    await kv.close().catch(() => undefined);
    throw err;
  }
}

/** The same stores in memory (memory-level, memory WAL, memory signer state), for tests and the simulator. */
export async function createMemoryNodeStorage(): Promise<NodeStorage> {
  const kv = await createMemoryKvStore();
  const wal = new MemoryConsensusWal();
  return assemble(kv, wal, new MemorySignerStateStore(), true, () => kv.approximateSize(), undefined);
}
