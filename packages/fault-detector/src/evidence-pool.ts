import { sha256 } from '@synod/crypto';
import {
  bytesEqual,
  canonicalEvidence,
  type Evidence,
  encodeEvidence,
  evidenceHeight,
  evidenceValidator,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  type SignedProposal,
  type SignedVote,
  totalVotingPower,
  validatorIndex,
} from '@synod/types';
import {
  type EvidenceContext,
  type EvidenceProblem,
  evidenceProblem,
  infractionKey,
  isEvidenceExpired,
  punishmentKey,
} from './verify-evidence.js';

export type AddEvidenceResult =
  | { readonly status: 'added' }
  | { readonly status: 'duplicate' }
  | { readonly status: 'committed' }
  | { readonly status: 'invalid'; readonly problem: EvidenceProblem };

interface PendingEntry {
  readonly evidence: Evidence;
  readonly bytes: number;
  readonly height: number;
  /** evidenceHash: block validation skips verification only for these exact bytes. */
  readonly hash: Uint8Array;
  /** Hex address of the accused (the per-validator count). */
  readonly validator: string;
}

type Report =
  | { readonly kind: 'duplicate-vote'; readonly a: SignedVote; readonly b: SignedVote }
  | { readonly kind: 'double-proposal'; readonly a: SignedProposal; readonly b: SignedProposal };

export interface EvidencePoolOptions {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Most pending items kept (oldest infractions dropped first). @default 10_000 */
  readonly maxPending?: number;
  /** Most unprocessed local reports kept. @default 10_000 */
  readonly maxReports?: number;
  /**
   * Most pending items against one validator (at different heights: one per
   * height is kept). The ledger tombstones a validator on its first punishment,
   * so more are never needed. @default 2
   */
  readonly maxPerValidator?: number;
  /**
   * Whether the application already tombstoned the validator with this
   * address (it can never be punished again): evidence against it is not kept.
   * @default none is
   */
  readonly isTombstoned?: (address: Uint8Array) => boolean;
}

/**
 * The evidence pool: verifies evidence against the chain, keeps one pending
 * item per (validator, height) — what the ledger punishes (`punishmentKey`) —
 * and at most `maxPerValidator` per validator, none against a tombstoned one;
 * keeps pending and committed apart, and expires both by age in blocks AND in
 * time. Proposers take `pending(maxBytes)`; block validation uses
 * `blockEvidenceProblem`. Memory: at most `maxPending` items of at most
 * `LIMITS`-bounded size, plus `maxReports` reports.
 *
 * Conflicting messages seen by the local consensus (`reportConflictingVotes`,
 * `reportDoubleProposal`) are kept until their height is committed, because
 * evidence records the block time and the validator set of that height.
 *
 * The pool is memory-only: after a restart it forgets pending evidence that was
 * not yet committed (peers gossip it again) and its cache of committed
 * infractions; the application's state (tombstones, handled infractions) is the
 * durable record that prevents double punishment.
 */
export class EvidencePool {
  /** punishment key (validator, height) → the pending item. */
  readonly #pending = new Map<string, PendingEntry>();
  /** hex address → pending items against it. */
  readonly #perValidator = new Map<string, number>();
  /** infraction key and punishment key → evidence height (to expire the record). */
  readonly #committed = new Map<string, number>();
  #reports: Report[] = [];
  readonly #logger: Logger;
  readonly #maxPending: number;
  readonly #maxReports: number;
  readonly #maxPerValidator: number;
  readonly #isTombstoned: (address: Uint8Array) => boolean;
  readonly #metricPending;
  readonly #metricAdded;
  readonly #metricRejected;

  constructor(options: EvidencePoolOptions = {}) {
    this.#logger = options.logger ?? noopLogger;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#maxReports = options.maxReports ?? 10_000;
    this.#maxPerValidator = options.maxPerValidator ?? 2;
    this.#isTombstoned = options.isTombstoned ?? (() => false);
    const m = options.metrics ?? noopMetrics;
    this.#metricPending = m.gauge({
      name: 'synod_evidence_pending',
      help: 'Evidence items waiting for a block',
    });
    this.#metricAdded = m.counter({
      name: 'synod_evidence_added_total',
      help: 'Evidence items accepted into the pool',
      labelNames: ['kind'],
    });
    this.#metricRejected = m.counter({
      name: 'synod_evidence_rejected_total',
      help: 'Evidence items refused by verification',
      labelNames: ['code'],
    });
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Local consensus saw one validator sign two different votes for one (h, r, type). */
  reportConflictingVotes(a: SignedVote, b: SignedVote): void {
    this.#pushReport({ kind: 'duplicate-vote', a, b });
  }

  /** Local consensus saw one proposer sign two different proposals for one (h, r). */
  reportDoubleProposal(a: SignedProposal, b: SignedProposal): void {
    this.#pushReport({ kind: 'double-proposal', a, b });
  }

  #pushReport(r: Report): void {
    if (this.#reports.length >= this.#maxReports) this.#reports.shift();
    this.#reports.push(r);
  }

  /**
   * Verifies `ev` and adds it to the pending set. Never throws on bad evidence.
   * Cheap refusals first (no signature is checked for them): an infraction
   * already committed, a tombstoned validator ('committed'), a pending item
   * for the same (validator, height), or a validator at its quota of pending
   * items ('duplicate').
   */
  add(ev: Evidence, ctx: EvidenceContext): AddEvidenceResult {
    const key = punishmentKey(ev);
    if (this.#committed.has(infractionKey(ev)) || this.#committed.has(key)) return { status: 'committed' };
    if (this.#isTombstoned(evidenceValidator(ev))) return { status: 'committed' };
    if (this.#pending.has(key)) return { status: 'duplicate' };
    const validator = Buffer.from(evidenceValidator(ev)).toString('hex');
    if ((this.#perValidator.get(validator) ?? 0) >= this.#maxPerValidator) return { status: 'duplicate' };
    const problem = evidenceProblem(ev, ctx);
    if (problem !== undefined) {
      this.#metricRejected.inc({ code: problem.code });
      this.#logger.warn('evidence refused', { code: problem.code, reason: problem.reason });
      return { status: 'invalid', problem };
    }
    if (this.#pending.size >= this.#maxPending) this.#dropOldestPending();
    const bytes = encodeEvidence(ev);
    this.#setPending(key, {
      evidence: ev,
      bytes: bytes.length,
      height: evidenceHeight(ev),
      hash: sha256(bytes),
      validator,
    });
    this.#metricAdded.inc({ kind: ev.kind });
    this.#metricPending.set(this.#pending.size);
    this.#logger.warn('equivocation evidence added', { kind: ev.kind, height: evidenceHeight(ev) });
    return { status: 'added' };
  }

  #setPending(key: string, entry: PendingEntry): void {
    this.#pending.set(key, entry);
    this.#perValidator.set(entry.validator, (this.#perValidator.get(entry.validator) ?? 0) + 1);
  }

  #deletePending(key: string): void {
    const entry = this.#pending.get(key);
    if (entry === undefined) return;
    this.#pending.delete(key);
    const n = (this.#perValidator.get(entry.validator) ?? 1) - 1;
    if (n <= 0) this.#perValidator.delete(entry.validator);
    else this.#perValidator.set(entry.validator, n);
  }

  #dropOldestPending(): void {
    let oldestKey: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [k, e] of this.#pending) {
      if (e.height < oldest) {
        oldest = e.height;
        oldestKey = k;
      }
    }
    if (oldestKey !== undefined) this.#deletePending(oldestKey);
  }

  /** Pending evidence, oldest infraction first, up to `maxBytes` of encoded evidence. */
  pending(maxBytes: number): Evidence[] {
    const entries = [...this.#pending.values()].sort((a, b) => a.height - b.height);
    const out: Evidence[] = [];
    let bytes = 0;
    for (const e of entries) {
      if (bytes + e.bytes > maxBytes) continue;
      bytes += e.bytes;
      out.push(e.evidence);
    }
    return out;
  }

  /** Whether this exact evidence is pending. */
  isPending(ev: Evidence): boolean {
    const entry = this.#pending.get(punishmentKey(ev));
    return entry !== undefined && bytesEqual(entry.hash, sha256(encodeEvidence(ev)));
  }

  /** Whether the infraction, or another one of the validator at that height, is committed. */
  isCommitted(ev: Evidence): boolean {
    return this.#committed.has(infractionKey(ev)) || this.#committed.has(punishmentKey(ev));
  }

  /**
   * Block validation: every evidence item must verify, be the only one of its
   * (validator, height) in the block, not be committed already, and the total
   * must fit `maxBytes`. Verification is skipped only for evidence whose hash
   * equals a pending item's (that exact evidence was verified on entry), never
   * for another evidence of the same infraction: the verdict on a block must
   * not depend on what this node's pool holds.
   */
  blockEvidenceProblem(list: readonly Evidence[], ctx: EvidenceContext): string | undefined {
    const seen = new Set<string>();
    let bytes = 0;
    for (const ev of list) {
      const key = punishmentKey(ev);
      if (seen.has(key)) return 'duplicate evidence in block';
      seen.add(key);
      if (this.#committed.has(infractionKey(ev))) return 'evidence already committed';
      const encoded = encodeEvidence(ev);
      bytes += encoded.length;
      if (bytes > ctx.params.evidence.maxBytes) return 'evidence exceeds evidence.maxBytes';
      const entry = this.#pending.get(key);
      if (entry === undefined || !bytesEqual(entry.hash, sha256(encoded))) {
        const problem = evidenceProblem(ev, ctx);
        if (problem !== undefined) return `invalid evidence: ${problem.reason}`;
      }
    }
    return undefined;
  }

  /**
   * After a block is committed: mark its evidence committed, turn local reports
   * of committed heights into evidence, and expire old items. `ctx` describes
   * the chain after the block.
   */
  update(committedEvidence: readonly Evidence[], ctx: EvidenceContext): void {
    for (const ev of committedEvidence) {
      const key = punishmentKey(ev);
      this.#deletePending(key);
      this.#committed.set(key, evidenceHeight(ev));
      this.#committed.set(infractionKey(ev), evidenceHeight(ev));
    }
    const keep: Report[] = [];
    for (const r of this.#reports) {
      const h = r.kind === 'duplicate-vote' ? r.a.vote.height : r.a.proposal.height;
      if (h > ctx.height) {
        keep.push(r);
        continue;
      }
      const ev = this.#evidenceFromReport(r, h, ctx);
      if (ev !== undefined) this.add(ev, ctx);
    }
    this.#reports = keep;
    for (const [k, e] of this.#pending) {
      if (
        isEvidenceExpired(e.height, e.evidence.timeMs, ctx.height, ctx.timeMs, ctx.params) ||
        this.#isTombstoned(evidenceValidator(e.evidence))
      )
        this.#deletePending(k);
    }
    for (const [k, h] of this.#committed) {
      const t = ctx.blockTimeAt(h);
      if (t === undefined || isEvidenceExpired(h, t, ctx.height, ctx.timeMs, ctx.params))
        this.#committed.delete(k);
    }
    this.#metricPending.set(this.#pending.size);
  }

  #evidenceFromReport(r: Report, h: number, ctx: EvidenceContext): Evidence | undefined {
    const set = ctx.validatorSetAt(h);
    const timeMs = ctx.blockTimeAt(h);
    if (set === undefined || timeMs === undefined) return undefined;
    const address = r.kind === 'duplicate-vote' ? r.a.vote.validatorAddress : r.a.proposal.proposerAddress;
    const v = set.validators[validatorIndex(set, address)];
    if (v === undefined) return undefined;
    const common = { validatorPower: v.votingPower, totalVotingPower: totalVotingPower(set), timeMs };
    return canonicalEvidence(
      r.kind === 'duplicate-vote'
        ? { kind: 'duplicate-vote', voteA: r.a, voteB: r.b, ...common }
        : { kind: 'double-proposal', proposalA: r.a, proposalB: r.b, ...common },
    );
  }
}
