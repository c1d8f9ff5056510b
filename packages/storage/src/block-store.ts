import {
  type Block,
  blockHash,
  bytesEqual,
  type Commit,
  decodeBlock,
  decodeCommit,
  decodeHeader,
  encodeBlock,
  encodeCommit,
  encodeHeader,
  type Header,
  headerHash,
  SynodError,
} from '@synod/types';
import { concatBytes } from './bytes.js';
import { KEY_PREFIX, keys, prefixSpan, readU64, u64 } from './keys.js';
import type { KvBatchOp, KvStore } from './kv/kv-store.js';
import { decodeStored, ensureSchema } from './schema.js';

export interface BlockStoreOptions {
  /** fsync every saved block (LevelDB `sync` writes). @default true */
  readonly syncWrites?: boolean;
  /** Blocks deleted per batch when pruning. @default 1000 */
  readonly pruneBatchBlocks?: number;
}

export interface PruneResult {
  /** Blocks deleted. */
  readonly pruned: number;
  /** The lowest stored height afterwards. */
  readonly base: number;
}

const BLOCK_PREFIXES = [
  KEY_PREFIX.block,
  KEY_PREFIX.header,
  KEY_PREFIX.blockHash,
  KEY_PREFIX.commit,
  KEY_PREFIX.seenCommit,
  KEY_PREFIX.blockStoreMeta,
] as const;

/**
 * Blocks by height and by hash, their headers, the canonical commit of each
 * height and the latest seen commit, in a `KvStore`. Saving a block is one
 * atomic batch (block, header, hash index, the previous height's commit from
 * `block.lastCommit`, the seen commit and the stored range). Heights are
 * contiguous from `base()` to `height()`.
 */
export class BlockStore {
  private readonly kv: KvStore;
  private readonly sync: boolean;
  private readonly pruneBatch: number;
  private baseHeight: number;
  private topHeight: number;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(kv: KvStore, options: BlockStoreOptions, base: number, height: number) {
    this.kv = kv;
    this.sync = options.syncWrites ?? true;
    this.pruneBatch = Math.max(1, options.pruneBatchBlocks ?? 1000);
    this.baseHeight = base;
    this.topHeight = height;
  }

  static async open(kv: KvStore, options: BlockStoreOptions = {}): Promise<BlockStore> {
    await ensureSchema(kv);
    const meta = await kv.get(keys.blockStoreMeta);
    if (meta === undefined) return new BlockStore(kv, options, 0, 0);
    if (meta.length !== 16)
      throw new SynodError('STORAGE_CORRUPT', 'block store range record has a bad length');
    const base = readU64(meta, 0, 'block store base');
    const height = readU64(meta, 8, 'block store height');
    if (base > height || base === 0) {
      throw new SynodError(
        'STORAGE_CORRUPT',
        `block store range is invalid (base ${base}, height ${height})`,
      );
    }
    return new BlockStore(kv, options, base, height);
  }

  /** Lowest stored height, 0 when empty. */
  base(): number {
    return this.baseHeight;
  }

  /** Highest stored height, 0 when empty. */
  height(): number {
    return this.topHeight;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private metaOp(base: number, height: number): KvBatchOp {
    return { type: 'put', key: keys.blockStoreMeta, value: concatBytes(u64(base), u64(height)) };
  }

  /**
   * Saves `block` with `seenCommit` (the commit this node saw for it) in one
   * atomic batch. The block must be the next height (any height when the store
   * is empty) and the commit must be for it. Storage does not verify
   * signatures; consensus and sync do that before saving. `sync: false` skips
   * this write's fsync (when the store syncs at all): for a caller whose next
   * write to the same database is synced, which makes this one durable too
   * (the database's log is written in order).
   */
  saveBlock(block: Block, seenCommit: Commit, options?: { readonly sync?: boolean }): Promise<void> {
    return this.serial(async () => {
      const height = block.header.height;
      if (this.topHeight !== 0 && height !== this.topHeight + 1) {
        throw new SynodError(
          'BLOCK_INVALID',
          `cannot save block ${height}: the block store holds ${this.baseHeight}..${this.topHeight}, next is ${
            this.topHeight + 1
          }`,
          { details: { height, expected: this.topHeight + 1 } },
        );
      }
      const hash = blockHash(block);
      if (seenCommit.height !== height || !bytesEqual(seenCommit.blockHash, hash)) {
        throw new SynodError('COMMIT_INVALID', `the seen commit is not for block ${height}`, {
          details: { height, commitHeight: seenCommit.height },
        });
      }
      const base = this.topHeight === 0 ? height : this.baseHeight;
      const ops: KvBatchOp[] = [
        { type: 'put', key: keys.block(height), value: encodeBlock(block) },
        { type: 'put', key: keys.header(height), value: encodeHeader(block.header) },
        { type: 'put', key: keys.blockHash(hash), value: u64(height) },
        { type: 'put', key: keys.seenCommit, value: encodeCommit(seenCommit) },
        this.metaOp(base, height),
      ];
      const last = block.lastCommit;
      if (last.height > 0)
        ops.push({ type: 'put', key: keys.commit(last.height), value: encodeCommit(last) });
      await this.kv.batch(ops, { sync: this.sync && options?.sync !== false });
      this.baseHeight = base;
      this.topHeight = height;
    });
  }

  /** The encoded block at `height`, as stored (for serving block sync without re-encoding). */
  async loadBlockBytes(height: number): Promise<Uint8Array | undefined> {
    if (height < this.baseHeight || height > this.topHeight || height === 0) return undefined;
    return this.kv.get(keys.block(height));
  }

  async loadBlock(height: number): Promise<Block | undefined> {
    const bytes = await this.loadBlockBytes(height);
    return bytes === undefined ? undefined : decodeStored(bytes, decodeBlock, `block ${height}`);
  }

  async loadHeader(height: number): Promise<Header | undefined> {
    if (height < this.baseHeight || height > this.topHeight || height === 0) return undefined;
    const bytes = await this.kv.get(keys.header(height));
    return bytes === undefined ? undefined : decodeStored(bytes, decodeHeader, `header ${height}`);
  }

  /** Height of the stored block with this hash. */
  async heightOfHash(hash: Uint8Array): Promise<number | undefined> {
    if (!(hash instanceof Uint8Array) || hash.length !== 32) return undefined;
    const value = await this.kv.get(keys.blockHash(hash));
    return value === undefined ? undefined : readU64(value, 0, 'block hash index');
  }

  async loadBlockByHash(hash: Uint8Array): Promise<Block | undefined> {
    const height = await this.heightOfHash(hash);
    return height === undefined ? undefined : this.loadBlock(height);
  }

  /**
   * The canonical commit for `height` (carried as `lastCommit` by block
   * height+1), or, for the latest block, the seen commit.
   */
  async loadCommit(height: number): Promise<Commit | undefined> {
    const bytes = await this.loadCommitBytes(height);
    return bytes === undefined ? undefined : decodeStored(bytes, decodeCommit, `commit ${height}`);
  }

  /**
   * The encoded commit of `height`, as stored (for serving block sync without
   * re-encoding): the canonical commit, or the seen commit for the latest
   * block (every save writes the seen commit of the height it makes the latest).
   */
  async loadCommitBytes(height: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(height) || height < 1) return undefined;
    const bytes = await this.kv.get(keys.commit(height));
    if (bytes !== undefined) return bytes;
    if (height !== this.topHeight) return undefined;
    return this.kv.get(keys.seenCommit);
  }

  /** The commit this node saw for its latest block. */
  async loadSeenCommit(): Promise<Commit | undefined> {
    const bytes = await this.kv.get(keys.seenCommit);
    return bytes === undefined ? undefined : decodeStored(bytes, decodeCommit, 'seen commit');
  }

  /**
   * Deletes blocks, headers, hash-index entries and commits below
   * `retainHeight` (at most `height()`), in batches that each move `base()`
   * up atomically, then compacts the freed ranges. Returns how many blocks went.
   */
  async pruneBlocks(retainHeight: number): Promise<PruneResult> {
    if (!Number.isSafeInteger(retainHeight) || retainHeight < 1) {
      throw new SynodError('CONFIG_INVALID', `retain height must be a positive integer, got ${retainHeight}`);
    }
    if (retainHeight > this.topHeight) {
      throw new SynodError(
        'CONFIG_INVALID',
        `cannot prune below ${retainHeight}: the latest block is ${this.topHeight} and must be kept`,
      );
    }
    const firstBase = this.baseHeight;
    let pruned = 0;
    for (;;) {
      const done = await this.serial(async () => {
        const from = this.baseHeight;
        if (from >= retainHeight) return true;
        const to = Math.min(retainHeight, from + this.pruneBatch);
        const ops: KvBatchOp[] = [];
        // The commit of the height below the first stored block (from that block's lastCommit).
        if (from > 1) ops.push({ type: 'del', key: keys.commit(from - 1) });
        for (let h = from; h < to; h++) {
          const headerBytes = await this.kv.get(keys.header(h));
          if (headerBytes !== undefined) {
            const hash = headerHash(decodeStored(headerBytes, decodeHeader, `header ${h}`));
            ops.push({ type: 'del', key: keys.blockHash(hash) });
          }
          ops.push({ type: 'del', key: keys.block(h) }, { type: 'del', key: keys.header(h) });
          ops.push({ type: 'del', key: keys.commit(h) });
        }
        ops.push(this.metaOp(to, this.topHeight));
        await this.kv.batch(ops, { sync: this.sync });
        pruned += to - from;
        this.baseHeight = to;
        return false;
      });
      if (done) break;
    }
    if (pruned > 0) {
      await this.kv.compact(prefixSpan(KEY_PREFIX.block, firstBase, retainHeight));
      await this.kv.compact(prefixSpan(KEY_PREFIX.header, firstBase, retainHeight));
      await this.kv.compact(prefixSpan(KEY_PREFIX.commit, 0, retainHeight));
      await this.kv.compact(prefixSpan(KEY_PREFIX.blockHash));
    }
    return { pruned, base: this.baseHeight };
  }

  /** Approximate bytes the block store uses (LevelDB: on-disk tables; recent writes still in memory count later). */
  async diskUsage(): Promise<number> {
    let total = 0;
    for (const prefix of BLOCK_PREFIXES) total += await this.kv.approximateSize(prefixSpan(prefix));
    return total;
  }
}
