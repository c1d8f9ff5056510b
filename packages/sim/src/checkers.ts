import { toHex } from '@synod/crypto';
import { evidenceProblem, infractionKey } from '@synod/fault-detector';
import {
  type Block,
  blockHash,
  type Commit,
  type ConsensusParams,
  type Evidence,
  evidenceValidator,
  proposalSignBytes,
  type SignRequest,
  type ValidatorSet,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';
import type { SimApplication } from './app.js';
import { commitIssue } from './commit-check.js';
import type { VerifyFn } from './signatures.js';

/** How a run failed: a checker (safety), the liveness bound (liveness), or an exception / honest halt (crash). */
export type FailureClass = 'safety' | 'liveness' | 'crash';

/** The checkers; `liveness` and `crash` are not checkers but share the failure record. */
export type CheckName =
  | 'agreement'
  | 'validity'
  | 'double-sign'
  | 'evidence-missing'
  | 'evidence-invalid'
  | 'honest-accused'
  | 'state'
  | 'liveness'
  | 'crash';

export interface SimFailure {
  readonly class: FailureClass;
  readonly check: CheckName;
  readonly reason: string;
  /** Simulated time of the failure (ms since the run started). */
  readonly atMs: number;
}

export interface CheckerContext {
  readonly chainId: string;
  /** The validator set (members and powers never change in the simulator; priorities do not matter here). */
  readonly validators: ValidatorSet;
  /** honest[i]: validator i (in set order) is honest. */
  readonly honest: readonly boolean[];
  readonly params: ConsensusParams;
  readonly verify: VerifyFn;
  /**
   * False when signatures are the fast stand-in: evidence signatures are then
   * checked with `verify` (evidenceProblem checks Ed25519).
   */
  readonly signaturesChecked?: boolean;
  /** The reference application: it executes the decided chain, once, and judges validity. */
  readonly reference: SimApplication;
  /** Simulated time, for failure records. */
  now(): number;
}

/** A consensus message of a validator, as a node's engine accepted it (see `Checkers.onSeen`). */
export interface SeenMessage {
  readonly kind: 'vote' | 'proposal';
  readonly validator: number;
  readonly height: number;
  readonly round: number;
  /** 'prevote' | 'precommit' for votes, 'proposal' for proposals. */
  readonly step: 'prevote' | 'precommit' | 'proposal';
  /** The block hash voted or proposed, hex ('nil' for a nil vote). */
  readonly value: string;
}

interface CanonicalBlock {
  readonly hash: string;
  readonly timeMs: number;
  readonly round: number;
  /** The reference application's state hash after this block ('' until it is executed). */
  stateHash: string;
}

interface SeenEntry {
  readonly height: number;
  readonly values: Set<string>;
  /** Height whose decision must come with the evidence (set once two different values were seen). */
  due: number | undefined;
}

/**
 * The safety checkers. They are called synchronously at the state change
 * they judge (a decision, a signature, an evidence report, a message entering
 * an engine), i.e. within the simulated event that caused it, and record the
 * first failure (they never throw into the engine).
 *
 * - agreement: no two nodes decide different blocks at one height;
 * - validity: every decided block is valid for the reference application at
 *   the decided chain (so it extends the previous decided block) and comes
 *   with a commit of more than 2/3 of the power;
 * - double-sign: no honest validator signs two different messages for one
 *   (height, round, step), across crashes;
 * - evidence-missing: when both messages of an equivocation by a validator
 *   entered an honest node's engine at that height (see `onSeen`), the node
 *   reports evidence of it by the time it decides that height (or the next
 *   one, when it saw the second message after deciding);
 * - honest-accused / evidence-invalid: every reported evidence names a
 *   Byzantine validator and verifies (@synod/fault-detector's evidenceProblem);
 * - state: nodes at one height hold the same application state.
 */
export class Checkers {
  readonly #ctx: CheckerContext;
  #failure: SimFailure | undefined;
  readonly #canonical: CanonicalBlock[] = [];
  readonly #decided: number[];
  readonly #signed = new Map<string, string>();
  readonly #seen: Map<string, SeenEntry>[];
  readonly #reported: Set<string>[];
  readonly #addressHex: string[];
  /** Evidence reports, and distinct infractions reported. */
  evidenceReports = 0;
  readonly infractions = new Set<string>();

  constructor(ctx: CheckerContext) {
    this.#ctx = ctx;
    const n = ctx.validators.validators.length;
    this.#decided = new Array<number>(n).fill(0);
    this.#seen = Array.from({ length: n }, () => new Map());
    this.#reported = Array.from({ length: n }, () => new Set());
    this.#addressHex = ctx.validators.validators.map((v) => toHex(v.address));
  }

  get failure(): SimFailure | undefined {
    return this.#failure;
  }

  /** Highest decided height (by any node). */
  get height(): number {
    return this.#canonical.length;
  }

  /** The decided block hash at `height` (hex), if decided. */
  decidedHash(height: number): string | undefined {
    return this.#canonical[height - 1]?.hash;
  }

  /** Decision round at `height`, if decided. */
  decidedRound(height: number): number | undefined {
    return this.#canonical[height - 1]?.round;
  }

  fail(cls: FailureClass, check: CheckName, reason: string): void {
    if (this.#failure === undefined) this.#failure = { class: cls, check, reason, atMs: this.#ctx.now() };
  }

  #safety(check: CheckName, reason: string): void {
    this.fail('safety', check, reason);
  }

  /** Node `node` decided `block` with `commit` (called when it saves the block). */
  async onDecide(node: number, block: Block, commit: Commit): Promise<void> {
    const h = block.header.height;
    const hash = blockHash(block);
    const hex = toHex(hash);
    const before = this.#decided[node] ?? 0;
    if (h !== before + 1) this.#safety('validity', `node ${node} decided height ${h} after ${before}`);
    this.#decided[node] = h;
    const issue = commitIssue(this.#ctx.chainId, this.#ctx.validators, commit, this.#ctx.verify, {
      height: h,
      blockHash: hash,
    });
    if (issue !== undefined)
      this.#safety('validity', `node ${node} decided height ${h} with a bad commit: ${issue}`);
    const known = this.#canonical[h - 1];
    if (known !== undefined) {
      if (known.hash !== hex) {
        this.#safety(
          'agreement',
          `node ${node} decided ${hex.slice(0, 12)} at height ${h}, others decided ${known.hash.slice(0, 12)}`,
        );
      }
      return;
    }
    if (h !== this.#canonical.length + 1) {
      this.#safety('validity', `height ${h} decided before height ${this.#canonical.length + 1}`);
      return;
    }
    const ref = this.#ctx.reference;
    const problem = ref.blockProblem(block);
    if (problem !== undefined) {
      this.#safety('validity', `node ${node} decided an invalid block at height ${h}: ${problem}`);
      return;
    }
    const entry: CanonicalBlock = {
      hash: hex,
      timeMs: block.header.timeMs,
      round: commit.round,
      stateHash: '',
    };
    this.#canonical.push(entry);
    await ref.finalizeBlock(block, commit);
    entry.stateHash = toHex(ref.stateHash());
  }

  /** Node `node`'s application is at `height` with state `stateHash`: it must match the reference's. */
  checkState(node: number, height: number, stateHash: Uint8Array): void {
    if (height === 0) return;
    const c = this.#canonical[height - 1];
    if (c !== undefined && c.stateHash !== '' && c.stateHash !== toHex(stateHash)) {
      this.#safety(
        'state',
        `node ${node}'s application state at height ${height} differs from the reference`,
      );
    }
  }

  /** Honest validator `validator`'s signer released a signature for `request`. */
  onHonestSign(validator: number, request: SignRequest): void {
    const key = `${validator}/${request.height}/${request.round}/${request.step}`;
    const b = request.signBytes;
    const bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
    const before = this.#signed.get(key);
    if (before === undefined) this.#signed.set(key, bytes);
    else if (before !== bytes) {
      this.#safety(
        'double-sign',
        `honest validator ${validator} signed two different ${request.step}s at height ${request.height} round ${request.round}`,
      );
    }
  }

  /**
   * A message of a validator entered honest node `node`'s engine at the height
   * the engine was deciding (it was appended to the WAL as an input, or
   * replayed from it), while the node had decided `decided` heights.
   */
  onSeen(node: number, m: SeenMessage, decided: number): void {
    const addr = this.#addressHex[m.validator];
    if (addr === undefined) return;
    const key =
      m.kind === 'vote' ? `dv/${addr}/${m.height}/${m.round}/${m.step}` : `dp/${addr}/${m.height}/${m.round}`;
    const seen = this.#seen[node] as Map<string, SeenEntry>;
    let e = seen.get(key);
    if (e === undefined) {
      e = { height: m.height, values: new Set(), due: undefined };
      seen.set(key, e);
    }
    if (e.values.has(m.value)) return;
    e.values.add(m.value);
    if (e.values.size === 2 && e.due === undefined) e.due = decided >= m.height ? m.height + 1 : m.height;
  }

  /** Node `node` lost its memory (crash): what it saw is gone, except what its WAL replays (`onSeen` again). */
  onCrash(node: number): void {
    this.#seen[node]?.clear();
  }

  /** Evidence reported by node `node`'s engine. */
  onEvidence(node: number, ev: Evidence): void {
    this.evidenceReports++;
    const key = infractionKey(ev);
    this.#reported[node]?.add(key);
    this.infractions.add(key);
    const accused = validatorIndex(this.#ctx.validators, evidenceValidator(ev));
    if (accused < 0) {
      this.#safety('evidence-invalid', `node ${node} reported evidence against a non-validator`);
      return;
    }
    if (this.#ctx.honest[accused] === true) {
      this.#safety(
        'honest-accused',
        `node ${node} reported ${ev.kind} evidence against honest validator ${accused}`,
      );
      return;
    }
    const top = this.#canonical[this.#canonical.length - 1];
    const problem = evidenceProblem(ev, {
      chainId: this.#ctx.chainId,
      height: this.#canonical.length,
      timeMs: top?.timeMs ?? 0,
      params: this.#ctx.params,
      validatorSetAt: (h) => (h >= 1 && h <= this.#canonical.length ? this.#ctx.validators : undefined),
      blockTimeAt: (h) => this.#canonical[h - 1]?.timeMs,
    });
    if (
      problem?.code === 'BAD_SIGNATURE' &&
      this.#ctx.signaturesChecked === false &&
      this.#signaturesOk(ev)
    ) {
      // The fast scheme's signatures are not Ed25519: checked with the simulator's verifier instead.
    } else if (problem !== undefined) {
      this.#safety(
        'evidence-invalid',
        `node ${node} reported invalid evidence (${problem.code}: ${problem.reason})`,
      );
    }
  }

  #signaturesOk(ev: Evidence): boolean {
    const v = this.#ctx.validators.validators[validatorIndex(this.#ctx.validators, evidenceValidator(ev))];
    if (v === undefined) return false;
    const { chainId, verify } = this.#ctx;
    return ev.kind === 'duplicate-vote'
      ? verify(v.pubKey, voteSignBytes(chainId, ev.voteA.vote), ev.voteA.signature) &&
          verify(v.pubKey, voteSignBytes(chainId, ev.voteB.vote), ev.voteB.signature)
      : verify(v.pubKey, proposalSignBytes(chainId, ev.proposalA.proposal), ev.proposalA.signature) &&
          verify(v.pubKey, proposalSignBytes(chainId, ev.proposalB.proposal), ev.proposalB.signature);
  }

  /**
   * Evidence due at node `node`'s decision of `height`: called once the
   * decision has run its course (the engine reports evidence after saving the
   * block, finalizing it and closing the height in its WAL), i.e. after the
   * event in which the node decided.
   */
  evidenceDue(node: number, height: number): void {
    const seen = this.#seen[node] as Map<string, SeenEntry>;
    if (seen.size === 0) return;
    const reported = this.#reported[node] as Set<string>;
    for (const [key, e] of seen) {
      if (e.due !== undefined && e.due <= height) {
        if (!reported.has(key)) {
          this.#safety(
            'evidence-missing',
            `node ${node} saw an equivocation (${key.split('/').slice(2).join(' ')}) of validator ${this.#validatorOf(key)} and did not report it by height ${height}`,
          );
        }
        seen.delete(key);
      } else if (e.due === undefined && e.height < height) {
        seen.delete(key);
      }
    }
  }

  #validatorOf(key: string): number {
    const addr = key.split('/')[1];
    return this.#addressHex.indexOf(addr ?? '');
  }
}
