import {
  type Evidence,
  encodeEvidence,
  evidenceHeight,
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
}

/**
 * The evidence pool: verifies evidence against the chain, deduplicates it by
 * infraction, keeps pending and committed apart, and expires both by age in
 * blocks AND in time. Proposers take `pending(maxBytes)`; block validation uses
 * `blockEvidenceProblem`.
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
  readonly #pending = new Map<string, PendingEntry>();
  /** infraction key → evidence height (to expire the record). */
  readonly #committed = new Map<string, number>();
  #reports: Report[] = [];
  readonly #logger: Logger;
  readonly #maxPending: number;
  readonly #maxReports: number;
  readonly #metricPending;
  readonly #metricAdded;
  readonly #metricRejected;

  constructor(options: EvidencePoolOptions = {}) {
    this.#logger = options.logger ?? noopLogger;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#maxReports = options.maxReports ?? 10_000;
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

  /** Verifies `ev` and adds it to the pending set. Never throws on bad evidence. */
  add(ev: Evidence, ctx: EvidenceContext): AddEvidenceResult {
    const key = infractionKey(ev);
    if (this.#committed.has(key)) return { status: 'committed' };
    if (this.#pending.has(key)) return { status: 'duplicate' };
    const problem = evidenceProblem(ev, ctx);
    if (problem !== undefined) {
      this.#metricRejected.inc({ code: problem.code });
      this.#logger.warn('evidence refused', { code: problem.code, reason: problem.reason });
      return { status: 'invalid', problem };
    }
    if (this.#pending.size >= this.#maxPending) this.#dropOldestPending();
    this.#pending.set(key, { evidence: ev, bytes: encodeEvidence(ev).length, height: evidenceHeight(ev) });
    this.#metricAdded.inc({ kind: ev.kind });
    this.#metricPending.set(this.#pending.size);
    this.#logger.warn('equivocation evidence added', { kind: ev.kind, height: evidenceHeight(ev) });
    return { status: 'added' };
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
    if (oldestKey !== undefined) this.#pending.delete(oldestKey);
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

  isPending(ev: Evidence): boolean {
    return this.#pending.has(infractionKey(ev));
  }

  isCommitted(ev: Evidence): boolean {
    return this.#committed.has(infractionKey(ev));
  }

  /**
   * Block validation: every evidence item must verify, appear once in the
   * block, not be committed already, and the total must fit `maxBytes`.
   */
  blockEvidenceProblem(list: readonly Evidence[], ctx: EvidenceContext): string | undefined {
    const seen = new Set<string>();
    let bytes = 0;
    for (const ev of list) {
      const key = infractionKey(ev);
      if (seen.has(key)) return 'duplicate evidence in block';
      seen.add(key);
      if (this.#committed.has(key)) return 'evidence already committed';
      if (!this.#pending.has(key)) {
        const problem = evidenceProblem(ev, ctx);
        if (problem !== undefined) return `invalid evidence: ${problem.reason}`;
      }
      bytes += encodeEvidence(ev).length;
    }
    if (bytes > ctx.params.evidence.maxBytes) return 'evidence exceeds evidence.maxBytes';
    return undefined;
  }

  /**
   * After a block is committed: mark its evidence committed, turn local reports
   * of committed heights into evidence, and expire old items. `ctx` describes
   * the chain after the block.
   */
  update(committedEvidence: readonly Evidence[], ctx: EvidenceContext): void {
    for (const ev of committedEvidence) {
      const key = infractionKey(ev);
      this.#pending.delete(key);
      this.#committed.set(key, evidenceHeight(ev));
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
      if (isEvidenceExpired(e.height, e.evidence.timeMs, ctx.height, ctx.timeMs, ctx.params))
        this.#pending.delete(k);
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
    return r.kind === 'duplicate-vote'
      ? { kind: 'duplicate-vote', voteA: r.a, voteB: r.b, ...common }
      : { kind: 'double-proposal', proposalA: r.a, proposalB: r.b, ...common };
  }
}
