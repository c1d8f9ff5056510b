/**
 * Reads the chain from the node's storage in the JSON of CometBFT 0.38:
 * blocks, headers, block ids, commits, block metas, validator sets and
 * consensus params by height. Block ids (which need the encoded block for
 * their part set hash) are cached for recent heights.
 */
import type { NodeStorage } from '@synod/storage';
import {
  type Block,
  blockHash,
  bytesEqual,
  type Commit,
  encodeBlock,
  type Header,
  headerHash,
  type ValidatorSet,
  validatorIndex,
} from '@synod/types';
import {
  type BlockContext,
  type BlockIdJson,
  blockIdJson,
  blockJson,
  commitJson,
  EMPTY_BLOCK_ID,
  headerJson,
  int64,
  type JsonObject,
  partSetHash,
} from './encode.js';

/** What the reader needs from storage. */
export type ChainStorage = Pick<NodeStorage, 'blocks' | 'state'>;

const BLOCK_ID_CACHE = 1024;
const SET_CACHE = 64;

export class ChainReader {
  readonly #storage: ChainStorage;
  readonly #ids = new Map<number, { hash: Uint8Array; id: BlockIdJson }>();
  readonly #sets = new Map<number, ValidatorSet | undefined>();
  readonly #latest: () => number;

  /** `latestHeight`: the node's last executed height (sets up to it are final and cached). */
  constructor(storage: ChainStorage, latestHeight: () => number) {
    this.#storage = storage;
    this.#latest = latestHeight;
  }

  /** Lowest stored height (0 when empty). */
  base(): number {
    return this.#storage.blocks.base();
  }

  /** Remembers the id of a block just decided (saves re-encoding it). */
  rememberBlockId(block: Block, encoded?: Uint8Array): BlockIdJson {
    const hash = blockHash(block);
    const id = blockIdJson(hash, partSetHash(encoded ?? encodeBlock(block)));
    this.#cacheId(block.header.height, hash, id);
    return id;
  }

  #cacheId(height: number, hash: Uint8Array, id: BlockIdJson): void {
    this.#ids.set(height, { hash, id });
    while (this.#ids.size > BLOCK_ID_CACHE) this.#ids.delete(this.#ids.keys().next().value as number);
  }

  /** The id of the stored block at `height` (EMPTY_BLOCK_ID for height 0 or a block not stored). */
  async blockId(height: number): Promise<BlockIdJson> {
    if (height < 1) return EMPTY_BLOCK_ID;
    const header = await this.#storage.blocks.loadHeader(height);
    if (header === undefined) return EMPTY_BLOCK_ID;
    const hash = headerHash(header);
    const cached = this.#ids.get(height);
    // A rolled-back height holds another block: the cache entry is only good for the same hash.
    if (cached !== undefined && bytesEqual(cached.hash, hash)) return cached.id;
    const bytes = await this.#storage.blocks.loadBlockBytes(height);
    if (bytes === undefined) return EMPTY_BLOCK_ID;
    const id = blockIdJson(hash, partSetHash(bytes));
    this.#cacheId(height, hash, id);
    return id;
  }

  /** The validator set in effect at `height` (a small cache: sets change rarely). */
  async validatorSet(height: number): Promise<ValidatorSet | undefined> {
    if (height < 1) return undefined;
    if (this.#sets.has(height)) return this.#sets.get(height);
    const set = await this.#storage.state.loadValidatorSet(height);
    if (height > this.#latest()) return set;
    this.#sets.set(height, set);
    while (this.#sets.size > SET_CACHE) this.#sets.delete(this.#sets.keys().next().value as number);
    return set;
  }

  async header(height: number): Promise<Header | undefined> {
    return this.#storage.blocks.loadHeader(height);
  }

  async headerJson(header: Header): Promise<JsonObject> {
    return headerJson(header, await this.blockId(header.height - 1));
  }

  async #blockContext(block: Block): Promise<BlockContext> {
    const h = block.header.height;
    const lastHeader = h > 1 ? await this.#storage.blocks.loadHeader(h - 1) : undefined;
    // Indexes of evidence votes' validators, looked up in the sets of the evidence heights.
    const sets = new Map<number, ValidatorSet | undefined>();
    for (const ev of block.evidence) {
      const eh = ev.kind === 'duplicate-vote' ? ev.voteA.vote.height : ev.proposalA.proposal.height;
      if (!sets.has(eh)) sets.set(eh, await this.validatorSet(eh));
    }
    return {
      lastBlockId: await this.blockId(h - 1),
      lastSet: h > 1 ? await this.validatorSet(h - 1) : undefined,
      lastTimeMs: lastHeader?.timeMs ?? block.header.timeMs,
      validatorIndex: (height, address) => {
        const set = sets.get(height);
        return set === undefined ? -1 : validatorIndex(set, address);
      },
    };
  }

  async blockJson(block: Block): Promise<JsonObject> {
    return blockJson(block, await this.#blockContext(block));
  }

  async block(height: number): Promise<Block | undefined> {
    return this.#storage.blocks.loadBlock(height);
  }

  async blockByHash(hash: Uint8Array): Promise<Block | undefined> {
    return this.#storage.blocks.loadBlockByHash(hash);
  }

  async heightOfHash(hash: Uint8Array): Promise<number | undefined> {
    return this.#storage.blocks.heightOfHash(hash);
  }

  /** `{ block_id, block }` of the stored block at `height`. */
  async resultBlock(block: Block): Promise<JsonObject> {
    return { block_id: await this.blockId(block.header.height), block: await this.blockJson(block) };
  }

  /** The commit of `height` (canonical, or the seen commit for the latest), in JSON. */
  async commitJson(height: number, commit: Commit): Promise<JsonObject> {
    const header = await this.#storage.blocks.loadHeader(height);
    return commitJson(
      commit,
      await this.validatorSet(height),
      header?.timeMs ?? 0,
      await this.blockId(height),
    ) as unknown as JsonObject;
  }

  async commit(height: number): Promise<Commit | undefined> {
    return this.#storage.blocks.loadCommit(height);
  }

  /** A `BlockMeta`: `{ block_id, block_size, header, num_txs }`. */
  async blockMeta(height: number): Promise<JsonObject | undefined> {
    const bytes = await this.#storage.blocks.loadBlockBytes(height);
    const block = await this.#storage.blocks.loadBlock(height);
    if (bytes === undefined || block === undefined) return undefined;
    return {
      block_id: await this.blockId(height),
      block_size: int64(bytes.length),
      header: await this.headerJson(block.header),
      num_txs: int64(block.txs.length),
    };
  }
}
