export { BlockStore, type BlockStoreOptions, type PruneResult } from './block-store.js';
export { compareBytes, prefixEnd } from './bytes.js';
export { type EvidenceStatus, EvidenceStore, type EvidenceStoreOptions } from './evidence-store.js';
export { KEY_PREFIX, STORAGE_SCHEMA_VERSION } from './keys.js';
export { GroupedKvStore, type WriteGroupStats } from './kv/grouped-kv-store.js';
export type { KvBatchOp, KvEntry, KvRange, KvSpan, KvStore, KvWriteOptions } from './kv/kv-store.js';
export { type LevelKvStoreOptions, openLevelKvStore } from './kv/level-kv-store.js';
export { createMemoryKvStore } from './kv/memory-kv-store.js';
export { PrefixedKvStore, prefixedKvStore } from './kv/prefixed-kv-store.js';
export {
  createMemoryNodeStorage,
  type NodeStorage,
  type NodeStorageOptions,
  type NodeStores,
  openNodeStorage,
  openStores,
  type StorageDiskUsage,
  storagePaths,
} from './node-storage.js';
export {
  decodeSignerState,
  decodeSignerStateFile,
  encodeSignerState,
  encodeSignerStateSlot,
  FileSignerStateStore,
  MemorySignerStateStore,
  SIGNER_STATE_OBJECT_VERSION,
  SIGNER_STATE_SLOT_BYTES,
  SIGNER_STATE_VERSION,
} from './signer/signer-state-file.js';
export { createSigner, type SignerScheme, ValidatorSigner } from './signer/validator-signer.js';
export { StateBatch, type StateInfo, StateStore, type StateStoreOptions } from './state-store.js';
export {
  FileConsensusWal,
  type FileWalOptions,
  openFileWal,
  segmentFileName,
  type WalRecovery,
  type WalStats,
} from './wal/file-wal.js';
export { MemoryConsensusWal } from './wal/memory-wal.js';
