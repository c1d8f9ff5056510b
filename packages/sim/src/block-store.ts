import { toHex } from '@synod/crypto';
import { type Block, blockHash, type Commit } from '@synod/types';

/**
 * A node's decided blocks with the commit it saw for each: its "disk".
 * `save` is one atomic, durable write (as the engine's port requires), so
 * it survives crashes whole or not at all.
 */
export class SimBlockStore {
  readonly #blocks: Block[] = [];
  readonly #commits: Commit[] = [];
  readonly #byHash = new Map<string, number>();

  /** Highest stored height, 0 when empty. */
  height(): number {
    return this.#blocks.length;
  }

  save(block: Block, commit: Commit, hashHex: string = toHex(blockHash(block))): void {
    const h = block.header.height;
    if (h !== this.#blocks.length + 1) {
      throw new Error(`block store: saving height ${h} on top of ${this.#blocks.length}`);
    }
    this.#blocks.push(block);
    this.#commits.push(commit);
    this.#byHash.set(hashHex, h);
  }

  block(height: number): Block | undefined {
    return this.#blocks[height - 1];
  }

  commit(height: number): Commit | undefined {
    return this.#commits[height - 1];
  }

  byHash(hashHex: string): Block | undefined {
    const h = this.#byHash.get(hashHex);
    return h === undefined ? undefined : this.#blocks[h - 1];
  }
}
