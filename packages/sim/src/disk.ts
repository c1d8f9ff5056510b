/**
 * A simulated node's disk: @synod/storage's real stores (block, state and
 * evidence stores over one memory key-value store — the simulator's sorted
 * one, `SortedMemoryKvStore` — the memory WAL, the
 * memory signer state), and the crash points that strike its writes.
 *
 * The disk outlives the node's incarnations. Each incarnation opens the
 * stores again over the same key-value store through `open(life)`, whose
 * wrappers are that incarnation's: a write may be the one an armed crash
 * point strikes (before it is applied, or just after), and once the
 * incarnation is dead every read or write it still tries never completes,
 * so the dead node's leftover work freezes where it stands instead of
 * touching the disk of its successor. A crash keeps every key-value write
 * that completed (the store applies a batch whole or not at all, as
 * LevelDB does) and only the WAL's synced records.
 */
import {
  BlockStore,
  type KvBatchOp,
  type KvEntry,
  type KvRange,
  type KvSpan,
  type KvStore,
  type KvWriteOptions,
  MemoryConsensusWal,
  MemorySignerStateStore,
  type NodeStorage,
  openStores,
} from '@synod/storage';
import type { ConsensusWal, LastSignState, SignerStateStore, WalRecord } from '@synod/types';
import { SortedMemoryKvStore } from './memory-kv.js';

/** An armed crash point: the write it strikes, and whether that write is applied first. */
export interface CrashPoint {
  /** Writes to let through before the crash. */
  countdown: number;
  /** The write that crashes is applied first (power lost just after it), or not at all. */
  readonly applyFirst: boolean;
}

/** One incarnation of a node, as its disk sees it. */
export interface Life {
  readonly id: number;
  alive: boolean;
  crashPoint: CrashPoint | undefined;
  /**
   * Armed WAL loss: as soon as its next round-0 proposal has gone out (one
   * that was its first signature at that height), the node dies and its WAL
   * is lost (see `SimDisk.loseWalAtNextCrash`).
   */
  walLossAtProposal?: boolean;
  /** The node's signer has just signed a round-0 proposal as its first signature at that height. */
  firstProposalSigned?: boolean;
  /** Power is cut now (the host's kill: memory gone, WAL cut to its synced records). */
  kill(reason: string): void;
}

/** What the host watches on the disk (the WAL tap feeds the evidence checker). */
export interface DiskTaps {
  /** A WAL record is about to be appended (the engine's input or own message). */
  onWalAppend?(data: Uint8Array): void;
  /** The WAL closes `height`. */
  onWalEndHeight?(height: number): void;
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** A write of incarnation `life`: where armed crash points strike; nothing once it is dead. */
function write<T>(life: Life, apply: () => Promise<T>): Promise<T> {
  if (!life.alive) return never();
  const cp = life.crashPoint;
  if (cp !== undefined && cp.countdown-- <= 0) {
    life.crashPoint = undefined;
    if (!cp.applyFirst) {
      life.kill('crash point, before a write');
      return never();
    }
    return apply().then(() => {
      life.kill('crash point, after a write');
      return never<T>();
    });
  }
  return apply();
}

function read<T>(life: Life, run: () => Promise<T>): Promise<T> {
  return life.alive ? run() : never();
}

/** The key-value store as one incarnation sees it. */
class IncarnationKv implements KvStore {
  readonly kind: string;
  readonly #inner: KvStore;
  readonly #life: Life;

  constructor(inner: KvStore, life: Life) {
    this.#inner = inner;
    this.#life = life;
    this.kind = `sim(${inner.kind})`;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return read(this.#life, () => this.#inner.get(key));
  }

  has(key: Uint8Array): Promise<boolean> {
    return read(this.#life, () => this.#inner.has(key));
  }

  put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void> {
    return write(this.#life, () => this.#inner.put(key, value, options));
  }

  del(key: Uint8Array, options?: KvWriteOptions): Promise<void> {
    return write(this.#life, () => this.#inner.del(key, options));
  }

  batch(ops: readonly KvBatchOp[], options?: KvWriteOptions): Promise<void> {
    return write(this.#life, () => this.#inner.batch(ops, options));
  }

  iterate(range?: KvRange): AsyncIterableIterator<KvEntry> {
    if (this.#life.alive) return this.#inner.iterate(range);
    const frozen: AsyncIterableIterator<KvEntry> = {
      next: () => never(),
      [Symbol.asyncIterator]: () => frozen,
    };
    return frozen;
  }

  entries(range?: KvRange): Promise<KvEntry[]> {
    return read(this.#life, () => this.#inner.entries(range));
  }

  approximateSize(span?: KvSpan): Promise<number> {
    return read(this.#life, () => this.#inner.approximateSize(span));
  }

  compact(span?: KvSpan): Promise<void> {
    return read(this.#life, () => this.#inner.compact(span));
  }

  /** The disk outlives the incarnation: closing its view closes nothing. */
  async close(): Promise<void> {}
}

export class SimDisk {
  readonly kv: KvStore;
  /** The WAL as it is now (a crash replaces it with its synced part). */
  wal: MemoryConsensusWal;
  readonly signerState: MemorySignerStateStore;

  private constructor(kv: KvStore) {
    this.kv = kv;
    this.wal = new MemoryConsensusWal();
    this.signerState = new MemorySignerStateStore();
  }

  static async create(): Promise<SimDisk> {
    return new SimDisk(new SortedMemoryKvStore());
  }

  /** The next crash loses the whole WAL (see `loseWalAtNextCrash`). */
  #loseWal = false;
  /** The last crash lost the whole WAL. */
  walLost = false;

  /** Power cut: the WAL keeps only its synced records (the key-value store keeps every completed write). */
  crash(): void {
    this.walLost = this.#loseWal;
    this.#loseWal = false;
    this.wal = this.wal.crash();
  }

  /**
   * The next crash loses the WAL's records of the current height, synced
   * ones too (the next incarnation's WAL holds only the end-of-height
   * marker of the block store's height: see `open`), while the signer state
   * and the key-value store survive: a WAL restored from an older backup,
   * or a node moved to a new machine with its key and signer state but not
   * its WAL. The restarted node has no record of what it signed at its
   * height; only the signer's guard keeps it from signing something else
   * there.
   */
  loseWalAtNextCrash(): void {
    this.#loseWal = true;
  }

  /** The height of the block store as the disk holds it (read without an incarnation). */
  async storedHeight(): Promise<number> {
    return (await BlockStore.open(this.kv)).height();
  }

  /** The block store as the disk holds it (read-only use by the host, between incarnations). */
  blockStore(): Promise<BlockStore> {
    return BlockStore.open(this.kv);
  }

  /** @synod/storage's stores for incarnation `life`. */
  async open(life: Life, taps: DiskTaps = {}): Promise<NodeStorage> {
    if (this.walLost) {
      // Rolled back to the start of the height: later crashes replay what the node appends from now on.
      const wal = new MemoryConsensusWal();
      await wal.writeEndHeight((await BlockStore.open(this.kv)).height());
      await wal.sync();
      this.wal = wal;
    }
    // Group commit as in openNodeStorage: a node's write group is one write here, where crash points strike.
    const stores = await openStores(new IncarnationKv(this.kv, life), { syncWrites: true });
    const wal: ConsensusWal = {
      append: (data, o) =>
        write(life, () => {
          taps.onWalAppend?.(data);
          return this.wal.append(data, o);
        }),
      writeEndHeight: (height, o) =>
        write(life, () => {
          taps.onWalEndHeight?.(height);
          return this.wal.writeEndHeight(height, o);
        }),
      recordsAfterEndHeight: (height): Promise<WalRecord[] | undefined> =>
        read(life, () => this.wal.recordsAfterEndHeight(height)),
      sync: () => write(life, () => this.wal.sync()),
      close: async () => {},
    };
    const signerState: SignerStateStore = {
      load: () => read(life, () => this.signerState.load()),
      save: (s: LastSignState) => write(life, () => this.signerState.save(s)),
    };
    return {
      ...stores,
      wal,
      signerState,
      walRecovery: undefined,
      diskUsage: async () => {
        const database = await stores.kv.approximateSize();
        return { blocks: 0, state: 0, evidence: 0, wal: 0, database, total: database };
      },
      close: async () => {},
    };
  }
}
