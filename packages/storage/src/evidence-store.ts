import { decodeEvidence, type Evidence, encodeEvidence, evidenceHash, evidenceHeight } from '@synod/types';
import { concatBytes } from './bytes.js';
import { KEY_PREFIX, keys, prefixSpan, readU64, u64 } from './keys.js';
import type { KvBatchOp, KvStore } from './kv/kv-store.js';
import { decodeStored, ensureSchema } from './schema.js';

export interface EvidenceStoreOptions {
  /** fsync every write. @default true */
  readonly syncWrites?: boolean;
}

/** Where a piece of evidence stands in this node's store. */
export type EvidenceStatus = 'pending' | 'committed' | 'unknown';

const EVIDENCE_PREFIXES = [
  KEY_PREFIX.evidencePending,
  KEY_PREFIX.evidenceCommitted,
  KEY_PREFIX.evidenceCommittedByHeight,
] as const;

/**
 * Evidence of misbehaviour: pending (verified, waiting to be included in a
 * block) and committed (included; kept so it cannot be submitted again).
 * Pending evidence is listed in infraction-height order. Identity is
 * `evidenceHash`.
 */
export class EvidenceStore {
  private readonly kv: KvStore;
  private readonly sync: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(kv: KvStore, options: EvidenceStoreOptions) {
    this.kv = kv;
    this.sync = options.syncWrites ?? true;
  }

  static async open(kv: KvStore, options: EvidenceStoreOptions = {}): Promise<EvidenceStore> {
    await ensureSchema(kv);
    return new EvidenceStore(kv, options);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async status(evidence: Evidence): Promise<EvidenceStatus> {
    const hash = evidenceHash(evidence);
    if (await this.kv.has(keys.evidenceCommitted(hash))) return 'committed';
    if (await this.kv.has(keys.evidencePending(evidenceHeight(evidence), hash))) return 'pending';
    return 'unknown';
  }

  /** Adds verified evidence to the pending set. Returns false when it is already pending or committed. */
  addPending(evidence: Evidence): Promise<boolean> {
    return this.serial(async () => {
      const bytes = encodeEvidence(evidence);
      if ((await this.status(evidence)) !== 'unknown') return false;
      await this.kv.put(keys.evidencePending(evidenceHeight(evidence), evidenceHash(evidence)), bytes, {
        sync: this.sync,
      });
      return true;
    });
  }

  /** Pending evidence, oldest infraction first, at most `limit` items. */
  async listPending(limit?: number): Promise<Evidence[]> {
    const entries = await this.kv.entries({
      ...prefixSpan(KEY_PREFIX.evidencePending),
      ...(limit === undefined ? {} : { limit }),
    });
    return entries.map((e) => decodeStored(e.value, decodeEvidence, 'pending evidence'));
  }

  /**
   * Marks the evidence included in the block at `height` as committed (and no
   * longer pending), in one atomic batch.
   */
  markCommitted(evidence: readonly Evidence[], height: number): Promise<void> {
    return this.serial(async () => {
      const ops: KvBatchOp[] = [];
      for (const ev of evidence) {
        const hash = evidenceHash(ev);
        const evHeight = evidenceHeight(ev);
        ops.push({ type: 'del', key: keys.evidencePending(evHeight, hash) });
        ops.push({
          type: 'put',
          key: keys.evidenceCommitted(hash),
          value: concatBytes(u64(height), u64(evHeight)),
        });
        ops.push({
          type: 'put',
          key: keys.evidenceCommittedByHeight(evHeight, hash),
          value: new Uint8Array(0),
        });
      }
      await this.kv.batch(ops, { sync: this.sync });
    });
  }

  /** The height of the block that included this evidence, if it was committed. */
  async committedAt(evidence: Evidence): Promise<number | undefined> {
    const value = await this.kv.get(keys.evidenceCommitted(evidenceHash(evidence)));
    return value === undefined ? undefined : readU64(value, 0, 'committed evidence');
  }

  /**
   * Deletes pending and committed evidence whose infraction height is below
   * `minHeight` (evidence that old is rejected as expired anyway, so it can
   * no longer be replayed). Returns how many entries went.
   */
  pruneBelow(minHeight: number): Promise<number> {
    return this.serial(async () => {
      const pending = await this.kv.entries(prefixSpan(KEY_PREFIX.evidencePending, 0, minHeight));
      const committed = await this.kv.entries(prefixSpan(KEY_PREFIX.evidenceCommittedByHeight, 0, minHeight));
      const ops: KvBatchOp[] = pending.map((e) => ({ type: 'del', key: e.key }));
      for (const e of committed) {
        ops.push({ type: 'del', key: e.key });
        ops.push({ type: 'del', key: keys.evidenceCommitted(e.key.subarray(9)) });
      }
      await this.kv.batch(ops, { sync: this.sync });
      return pending.length + committed.length;
    });
  }

  /** Approximate bytes the evidence store uses. */
  async diskUsage(): Promise<number> {
    let total = 0;
    for (const prefix of EVIDENCE_PREFIXES) total += await this.kv.approximateSize(prefixSpan(prefix));
    return total;
  }
}
