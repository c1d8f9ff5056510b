import { type ConsensusWal, SynodError, type WalRecord } from '@synod/types';
import { assertBytes, closedError } from '../errors.js';

type Entry =
  | { readonly type: 'data'; readonly data: Uint8Array }
  | { readonly type: 'end'; readonly height: number };

/**
 * An in-memory `ConsensusWal` for tests and the simulator, with the file WAL's
 * semantics. It tracks which records are durable (synced): `crash()` returns
 * the WAL a restarted node would see, without the unsynced tail.
 */
export class MemoryConsensusWal implements ConsensusWal {
  private entries: Entry[];
  private durableCount: number;
  private closed = false;

  constructor(baseHeight = 0, entries?: readonly Entry[]) {
    this.entries = entries === undefined ? [{ type: 'end', height: baseHeight }] : [...entries];
    this.durableCount = this.entries.length;
  }

  private check(what: string): void {
    if (this.closed) throw closedError(`memory WAL ${what}`);
  }

  async append(data: Uint8Array, options?: { sync?: boolean }): Promise<void> {
    this.check('append');
    assertBytes(data, 'WAL record');
    this.entries.push({ type: 'data', data: new Uint8Array(data) });
    if (options?.sync === true) this.durableCount = this.entries.length;
  }

  async writeEndHeight(height: number, options?: { sync?: boolean }): Promise<void> {
    this.check('writeEndHeight');
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new SynodError(
        'ENCODE_INVALID_VALUE',
        `end-of-height marker needs a non-negative integer, got ${height}`,
      );
    }
    this.entries.push({ type: 'end', height });
    if (options?.sync !== false) this.durableCount = this.entries.length;
  }

  async recordsAfterEndHeight(height: number): Promise<WalRecord[] | undefined> {
    this.check('recordsAfterEndHeight');
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.type === 'end' && e.height === height) {
        return this.entries
          .slice(i + 1)
          .flatMap((x) => (x.type === 'data' ? [{ data: new Uint8Array(x.data) }] : []));
      }
    }
    return undefined;
  }

  async sync(): Promise<void> {
    this.check('sync');
    this.durableCount = this.entries.length;
  }

  async close(): Promise<void> {
    this.durableCount = this.entries.length;
    this.closed = true;
  }

  /** The WAL a node restarted after a crash would open: only the synced records survive. */
  crash(): MemoryConsensusWal {
    this.closed = true;
    return new MemoryConsensusWal(0, this.entries.slice(0, this.durableCount));
  }
}
