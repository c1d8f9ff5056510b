import { toHex } from '@synod/crypto';
import {
  countsAsSigned,
  evidenceProblem,
  infractionKey,
  maxMissedBlocks,
  newSigningInfo,
  punishmentKey,
  recordSignature,
  type SigningInfo,
} from '@synod/fault-detector';
import {
  type Block,
  blockHash,
  type Commit,
  type ConsensusParams,
  commitProblem,
  type Evidence,
  evidenceHeight,
  evidenceValidator,
  proposalSignBytes,
  type SignRequest,
  txHash,
  type ValidatorSet,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';
import type { NodeView } from './node.js';
import type { ChainReference, SimPunishment } from './reference.js';
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
  | 'honest-punished'
  | 'punishment'
  | 'state'
  | 'tx'
  | 'liveness'
  | 'evidence-stuck'
  | 'tx-lost'
  | 'round-skip'
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
  /**
   * The genesis validators' addresses: validator i is node i (genesis set
   * order). The set of each height is the reference's (`validatorSetAt`): it
   * changes as validators are jailed.
   */
  readonly addresses: readonly Uint8Array[];
  /** honest[i]: validator (node) i is honest. */
  readonly honest: readonly boolean[];
  /** silent[i]: validator i is Byzantine and never sends a message of its own. */
  readonly silent?: readonly boolean[];
  readonly params: ConsensusParams;
  readonly verify: VerifyFn;
  /**
   * False when signatures are the fast stand-in: evidence signatures are then
   * checked with `verify` (evidenceProblem checks Ed25519).
   */
  readonly signaturesChecked?: boolean;
  /** The reference: it executes the decided chain, once, and judges validity. */
  readonly reference: ChainReference;
  /** A transaction (hex hash) was committed in a decided block. */
  readonly onTxCommitted?: (hash: string) => void;
  /** Simulated time, for failure records. */
  now(): number;
  /** Readable trace lines (what the decided chain did to validators), when a trace is wanted. */
  readonly log?: (line: string) => void;
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
  /** The reference's app hash after this block ('' until it is executed). */
  stateHash: string;
  /** App hashes nodes reported for this height before the reference had executed it. */
  readonly reported: { readonly node: number; readonly appHash: string }[];
}

interface SeenEntry {
  readonly height: number;
  readonly values: Set<string>;
  /** Height whose decision must come with the evidence (set once two different values were seen). */
  due: number | undefined;
}

/** An infraction key (`dv/addr/h/r/type`, `dp/addr/h/r`) as `h=H r=R type` for messages. */
function infractionLabel(key: string): string {
  const [kind, , h, r, type] = key.split('/');
  return `h=${h} r=${r} ${kind === 'dp' ? 'proposal' : type}`;
}

/** A node at the end of a run, for the final checks. */
export interface FinalNode {
  readonly index: number;
  readonly honest: boolean;
  readonly up: boolean;
  /** What the node says, when it is up. */
  readonly view: NodeView | undefined;
}

/** A punishment the reference's ledger applied, with the validator's index. */
export interface AppliedPunishment extends SimPunishment {
  readonly index: number;
}

/** What the chain did to validators (from the reference, i.e. the decided chain). */
export interface PunishmentStats {
  /** Evidence items in decided blocks. */
  readonly evidenceCommitted: number;
  /** Punishments applied, by reason. */
  readonly doubleSign: number;
  readonly doubleProposal: number;
  readonly downtime: number;
  /** Validators jailed / tombstoned at the end of the run. */
  readonly jailed: number;
  readonly tombstoned: number;
  /** The longest run of consecutive decided commits an honest validator was absent from. */
  readonly honestMissStreak: number;
}

/**
 * The safety checkers. They are called synchronously at the state change
 * they judge (a decision, a signature, an evidence report, a message entering
 * an engine), i.e. within the simulated event that caused it, and record the
 * first failure (they never throw into the engine).
 *
 * - agreement: no two nodes decide different blocks at one height;
 * - validity: every decided block is valid for the reference (@synod/node's
 *   block checks over the decided chain: so it extends the previous decided
 *   block) and comes with a commit of more than 2/3 of the power of its
 *   height's validator set;
 * - double-sign: no honest validator signs two different messages for one
 *   (height, round, step), across crashes;
 * - evidence-missing: when both messages of an equivocation by a validator
 *   entered an honest node's engine at that height (see `onSeen`), the node's
 *   pool holds evidence of it by the time it decides that height (or the
 *   next one, when it saw the second message after deciding), unless the
 *   pool has no use for it (see `evidenceDue`);
 * - honest-accused / evidence-invalid: every reported evidence names a
 *   Byzantine validator and verifies (@synod/fault-detector's evidenceProblem);
 *   no honest node's evidence pool accepts evidence against an honest
 *   validator, and no decided block carries any;
 * - state: every honest node's app hash after a height is the reference's;
 * - tx: every transaction of a decided block executed with an OK result, and
 *   none is committed twice;
 * - at every decided block:
 *   honest-punished: no honest validator is ever punished for equivocation,
 *   nor for downtime (see `#downtimeMirror`); punishment: the ledger's
 *   downtime decisions are exactly those of @synod/fault-detector's rule
 *   replayed over the decided commits; and at the end of the run
 *   (`finalCheck`), on every honest node that is up, see there.
 */
export class Checkers {
  readonly #ctx: CheckerContext;
  #failure: SimFailure | undefined;
  readonly #canonical: CanonicalBlock[] = [];
  readonly #decided: number[];
  readonly #signed = new Map<string, string>();
  /** The highest round any honest validator signed a message in, per height. */
  readonly #honestRound = new Map<number, number>();
  readonly #seen: Map<string, SeenEntry>[];
  /** Per node: infractions its pool accepted (from its consensus or a peer), and pool items per accused. */
  readonly #pooled: Set<string>[];
  /** Per node: punishment keys (validator, height) its pool accepted: it keeps one item per key. */
  readonly #pooledPunishments: Set<string>[];
  /** Punishment keys (validator, height) of the evidence decided blocks carried. */
  readonly #committedPunishments = new Set<string>();
  readonly #pooledPerValidator: Map<number, number>[];
  readonly #addressHex: string[];
  readonly #indexOf = new Map<string, number>();
  /** Evidence reports, and distinct infractions reported. */
  evidenceReports = 0;
  readonly infractions = new Set<string>();
  /** Infractions honest nodes saw (their engine reported it, or their pool accepted it), with the accused. */
  readonly #seenInfractions = new Map<string, number>();
  /** Honest nodes whose evidence pool took each infraction (pools keep pending evidence in the evidence store). */
  readonly #holders = new Map<string, Set<number>>();
  /** Hex hashes of every transaction in the decided chain. */
  readonly #txs = new Set<string>();
  /** Infractions committed in decided blocks: accused and the height of the block. */
  readonly #committed = new Map<string, { readonly accused: number; readonly height: number }>();
  #evidenceCommitted = 0;
  #lastEvidenceHeight = 0;
  readonly #punishments: AppliedPunishment[] = [];
  /** The downtime window of each validator, replayed from the decided commits (`#downtimeMirror`). */
  readonly #windows: (SigningInfo | undefined)[];
  readonly #missStreak: number[];
  #honestMissStreak = 0;
  /** What the final checks accepted, and why (printed with the result). */
  readonly notes: string[] = [];

  constructor(ctx: CheckerContext) {
    this.#ctx = ctx;
    const n = ctx.addresses.length;
    this.#decided = new Array<number>(n).fill(0);
    this.#seen = Array.from({ length: n }, () => new Map());
    this.#pooled = Array.from({ length: n }, () => new Set());
    this.#pooledPunishments = Array.from({ length: n }, () => new Set());
    this.#pooledPerValidator = Array.from({ length: n }, () => new Map());
    this.#addressHex = ctx.addresses.map((a) => toHex(a));
    this.#addressHex.forEach((a, i) => {
      this.#indexOf.set(a, i);
    });
    this.#windows = new Array<SigningInfo | undefined>(n).fill(undefined);
    this.#missStreak = new Array<number>(n).fill(0);
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

  /** Height of the last decided block that carried evidence (0 when none did). */
  get lastEvidenceHeight(): number {
    return this.#lastEvidenceHeight;
  }

  /** The punishments the decided chain applied, in order. */
  get punishments(): readonly AppliedPunishment[] {
    return this.#punishments;
  }

  /** Node index of the validator with `address`, or −1. */
  indexOf(address: Uint8Array): number {
    return this.#indexOf.get(toHex(address)) ?? -1;
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
    const ref = this.#ctx.reference;
    const set = ref.validatorSetAt(h);
    if (set === undefined) {
      this.#safety('validity', `node ${node} decided height ${h}, whose validator set is not known`);
      return;
    }
    const issue = commitProblem(this.#ctx.chainId, set, commit, {
      verifySignature: this.#ctx.verify,
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
    const entry: CanonicalBlock = {
      hash: hex,
      timeMs: block.header.timeMs,
      round: commit.round,
      stateHash: '',
      reported: [],
    };
    // Claimed before the first await: another node's decision of h in the same event is not canonical.
    this.#canonical.push(entry);
    const signed = this.#signedContentProblem(block);
    if (signed !== undefined) {
      this.#safety('validity', `node ${node} decided a block at height ${h} with ${signed}`);
      return;
    }
    const problem = await ref.blockProblem(block);
    if (problem !== undefined) {
      this.#safety('validity', `node ${node} decided an invalid block at height ${h}: ${problem}`);
      return;
    }
    const slashing = ref.slashing;
    const lastSet = h >= 2 ? ref.validatorSetAt(h - 1) : undefined;
    const jailedBefore = new Set<number>();
    if (lastSet !== undefined) {
      for (const v of lastSet.validators)
        if (slashing.status(v.address)?.jailed === true) jailedBefore.add(this.indexOf(v.address));
    }
    const response = await ref.execute(block, commit);
    entry.stateHash = toHex(ref.stateHash());
    for (const r of entry.reported) this.#compareAppHash(r.node, h, r.appHash, entry.stateHash);
    this.#checkTxs(block, response.txResults);
    this.#afterBlock(block, lastSet, jailedBefore, slashing.lastPunishments());
  }

  /**
   * Every transaction of a decided block was valid when executed (its result
   * is OK: the proposer's `prepareProposal` and everyone's `processProposal`
   * keep failing ones out), and none is committed twice.
   */
  #checkTxs(block: Block, results: readonly { readonly code: string; readonly log: string }[]): void {
    const h = block.header.height;
    block.txs.forEach((tx, i) => {
      const hash = toHex(txHash(tx));
      const r = results[i];
      if (r === undefined || r.code !== 'OK')
        this.#safety(
          'tx',
          `the block decided at height ${h} carries transaction ${i} that failed: ${r?.code} ${r?.log}`,
        );
      if (this.#txs.has(hash))
        this.#safety('tx', `transaction ${hash.slice(0, 12)} is committed twice (again at height ${h})`);
      this.#txs.add(hash);
      this.#ctx.onTxCommitted?.(hash);
    });
  }

  /**
   * Honest node `node` executed block `blockHash` of `height` to app hash
   * `appHash`: for the decided chain's block, the decided chain's app hash.
   * (Another block at that height is the agreement checker's to report.)
   */
  onAppHash(node: number, height: number, blockHash: Uint8Array, appHash: Uint8Array): void {
    const c = this.#canonical[height - 1];
    const hex = toHex(appHash);
    if (c === undefined || c.hash !== toHex(blockHash)) return;
    if (c.stateHash === '') c.reported.push({ node, appHash: hex });
    else this.#compareAppHash(node, height, hex, c.stateHash);
  }

  #compareAppHash(node: number, height: number, got: string, want: string): void {
    if (got !== want)
      this.#safety(
        'state',
        `node ${node}'s app hash after height ${height} differs from the decided chain's`,
      );
  }

  /** The decided chain's block `block` was executed by the reference, whose ledger applied `punishments`. */
  #afterBlock(
    block: Block,
    lastSet: ValidatorSet | undefined,
    jailedBefore: ReadonlySet<number>,
    punishments: readonly SimPunishment[],
  ): void {
    const h = block.header.height;
    for (const ev of block.evidence) {
      const accused = this.indexOf(evidenceValidator(ev));
      this.#evidenceCommitted++;
      this.#lastEvidenceHeight = h;
      this.#committed.set(infractionKey(ev), { accused, height: h });
      this.#committedPunishments.add(punishmentKey(ev));
      this.#ctx.log?.(
        `block ${h} carries ${ev.kind} evidence against validator ${accused} (${infractionLabel(infractionKey(ev))})`,
      );
      if (this.#ctx.honest[accused] === true)
        this.#safety(
          'honest-accused',
          `the block decided at height ${h} carries ${ev.kind} evidence against honest validator ${accused}`,
        );
    }
    const tombstonedNow = new Set<number>();
    const downtimeNow = new Set<number>();
    for (const p of punishments) {
      const index = this.indexOf(p.validator);
      this.#punishments.push({ ...p, index });
      this.#ctx.log?.(
        `block ${h} punishes validator ${index} for ${p.reason}: ${p.slashAmount} slashed, ${p.tombstoned ? 'jailed for ever, tombstoned' : `jailed until ${p.jailUntilMs}`}; out of the set from height ${h + 2}`,
      );
      if (p.reason === 'downtime') downtimeNow.add(index);
      else {
        tombstonedNow.add(index);
        if (this.#ctx.honest[index] === true)
          this.#safety(
            'honest-punished',
            `honest validator ${index} was punished for ${p.reason} at height ${h}`,
          );
      }
    }
    this.#downtimeMirror(block, lastSet, jailedBefore, tombstonedNow, downtimeNow);
  }

  /**
   * Replays @synod/fault-detector's downtime rule (`recordSignature`) over
   * the decided chain, as the ledger must apply it: block h records, for
   * every validator of the set of h − 1 that is not jailed (jailed before the
   * block, or tombstoned by its evidence), whether it signed the commit of
   * h − 1 (`block.lastCommit`); a tripped window is a downtime punishment in
   * that block and restarts the window. The ledger must punish exactly those
   * (`punishment` otherwise). An honest validator punished for downtime is a
   * failure (`honest-punished`): the simulator's consensus params
   * (`SIM_SLASHING`) are chosen so that an honest validator cannot miss a
   * whole window — an honest node is out only while the fault plan runs (the
   * safety phase) and while it catches up, which takes far fewer heights than
   * the window — so one that does shows a bug (e.g. votes of an up node that
   * never reach the commits).
   */
  #downtimeMirror(
    block: Block,
    lastSet: ValidatorSet | undefined,
    jailedBefore: ReadonlySet<number>,
    tombstonedNow: ReadonlySet<number>,
    downtimeNow: ReadonlySet<number>,
  ): void {
    const h = block.header.height;
    const params = this.#ctx.params;
    const tripped = new Set<number>();
    if (h >= 2 && lastSet !== undefined) {
      lastSet.validators.forEach((v, k) => {
        const i = this.indexOf(v.address);
        if (i < 0 || jailedBefore.has(i) || tombstonedNow.has(i)) return;
        const signed = countsAsSigned(block.lastCommit.signatures[k]);
        const streak = signed ? 0 : (this.#missStreak[i] as number) + 1;
        this.#missStreak[i] = streak;
        if (this.#ctx.honest[i] === true && streak > this.#honestMissStreak) this.#honestMissStreak = streak;
        const info = this.#windows[i] ?? newSigningInfo(params.slashing.signedBlocksWindow);
        const r = recordSignature(info, signed, params);
        if (r.downtime) {
          tripped.add(i);
          this.#windows[i] = newSigningInfo(params.slashing.signedBlocksWindow);
          this.#missStreak[i] = 0;
        } else this.#windows[i] = r.info;
      });
    }
    for (const i of tripped) {
      if (!downtimeNow.has(i)) {
        this.#safety(
          'punishment',
          `validator ${i} missed more than ${maxMissedBlocks(params)} of the last ${params.slashing.signedBlocksWindow} commits at height ${h}, and the ledger did not punish it for downtime`,
        );
      }
    }
    for (const i of downtimeNow) {
      if (!tripped.has(i)) {
        this.#safety(
          'punishment',
          `the ledger punished validator ${i} for downtime at height ${h}, but the decided commits do not show it down`,
        );
      } else if (this.#ctx.honest[i] === true) {
        this.#safety(
          'honest-punished',
          `honest validator ${i} was jailed for downtime at height ${h}: absent from more than ${maxMissedBlocks(params)} of the last ${params.slashing.signedBlocksWindow} decided commits`,
        );
      }
    }
  }

  /** Honest validator `validator`'s signer released a signature for `request`. */
  onHonestSign(validator: number, request: SignRequest): void {
    this.#roundSkip(validator, request);
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
   * Rounds are entered one at a time by the honest validators as a whole. A
   * correct node enters round r > 0 of a height either by its own timeouts
   * after round r − 1, in which some honest validator signed (its prevote, or
   * the precommits whose quorum started the precommit timeout, L47), or by
   * the round skip of L55, on more than 1/3 of the power in messages of round
   * r — with less than 1/3 Byzantine, at least one honest validator's, signed
   * in round r. So the first honest signature of round r > 0 always follows
   * an honest signature of round r − 1: an honest validator signing in a
   * round further ahead was led there by the Byzantine validators alone
   * (far-future rounds), and they can then hold it there.
   */
  #roundSkip(validator: number, request: SignRequest): void {
    const h = request.height;
    const top = this.#honestRound.get(h);
    if (request.round > 0 && request.round > (top ?? 0) + 1) {
      this.fail(
        'liveness',
        'round-skip',
        `honest validator ${validator} signed a ${request.step} at height ${h} round ${request.round}, while no honest validator had signed in a round past ${top ?? 'none'} of that height`,
      );
    }
    if (top === undefined || request.round > top) this.#honestRound.set(h, request.round);
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

  /**
   * Node `node` lost its memory (a crash, or its engine stopped for block
   * sync): what it saw is gone, except what its WAL replays (`onSeen`
   * again). Its pool's pending evidence is not: the node keeps it in its
   * evidence store and reloads it at start.
   */
  onCrash(node: number, _crashed = true): void {
    this.#seen[node]?.clear();
  }

  /** The accused's index, or a failure when the evidence names no validator of the run. */
  #accused(node: number, ev: Evidence, what: string): number {
    const accused = this.indexOf(evidenceValidator(ev));
    if (accused < 0)
      this.#safety('evidence-invalid', `node ${node} ${what} evidence against a non-validator`);
    return accused;
  }

  /** Evidence node `node`'s consensus reported (and its pool accepted: the node's `evidence` event, local). */
  onEvidence(node: number, ev: Evidence): void {
    this.evidenceReports++;
    const key = infractionKey(ev);
    this.infractions.add(key);
    const accused = this.#accused(node, ev, 'reported');
    if (accused < 0) return;
    if (this.#ctx.honest[accused] === true) {
      this.#safety(
        'honest-accused',
        `node ${node} reported ${ev.kind} evidence against honest validator ${accused}`,
      );
      return;
    }
    this.#seenInfractions.set(key, accused);
    const top = this.#canonical[this.#canonical.length - 1];
    const ref = this.#ctx.reference;
    const problem = evidenceProblem(ev, {
      chainId: this.#ctx.chainId,
      height: this.#canonical.length,
      timeMs: top?.timeMs ?? 0,
      params: this.#ctx.params,
      validatorSetAt: (h) => (h >= 1 && h <= this.#canonical.length ? ref.validatorSetAt(h) : undefined),
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

  /**
   * Honest node `node`'s evidence pool accepted `ev` (from its consensus or
   * from gossip; the node's `evidence` event, emitted once it is in the
   * evidence store): it must never accept evidence against an honest
   * validator. Accepted evidence is an infraction the node saw, pending
   * until a block carries it.
   */
  onPoolAdd(node: number, ev: Evidence): void {
    const accused = this.#accused(node, ev, 'accepted');
    if (accused < 0) return;
    if (this.#ctx.honest[accused] === true) {
      this.#safety(
        'honest-accused',
        `node ${node}'s evidence pool accepted ${ev.kind} evidence against honest validator ${accused}`,
      );
      return;
    }
    const key = infractionKey(ev);
    this.#seenInfractions.set(key, accused);
    this.#pooled[node]?.add(key);
    this.#pooledPunishments[node]?.add(punishmentKey(ev));
    const perValidator = this.#pooledPerValidator[node];
    perValidator?.set(accused, (perValidator.get(accused) ?? 0) + 1);
    let holders = this.#holders.get(key);
    if (holders === undefined) {
      holders = new Set();
      this.#holders.set(key, holders);
    }
    holders.add(node);
  }

  /**
   * The signed contents of a decided block, checked here with @synod/types'
   * `commitProblem` and @synod/fault-detector's `evidenceProblem` directly,
   * not only through the reference's `blockProblem` (which is @synod/node's
   * block executor, so a bug there would blind the check): its last commit is
   * a quorum commit of the decided block of the height before, and each
   * evidence item is valid against the chain before the block.
   */
  #signedContentProblem(block: Block): string | undefined {
    const h = block.header.height;
    if (h < 2) return undefined;
    const ref = this.#ctx.reference;
    const set = ref.validatorSetAt(h - 1);
    const parent = this.#canonical[h - 2];
    if (set === undefined || parent === undefined) return undefined;
    const c = block.lastCommit;
    if (toHex(c.blockHash) !== parent.hash) return 'a last commit of another block';
    const issue = commitProblem(this.#ctx.chainId, set, c, {
      verifySignature: this.#ctx.verify,
      height: h - 1,
      blockHash: c.blockHash,
    });
    if (issue !== undefined) return `a bad last commit: ${issue}`;
    for (const ev of block.evidence) {
      const problem = evidenceProblem(ev, {
        chainId: this.#ctx.chainId,
        height: h - 1,
        timeMs: parent.timeMs,
        params: this.#ctx.params,
        validatorSetAt: (x) => (x >= 1 && x <= h - 1 ? ref.validatorSetAt(x) : undefined),
        blockTimeAt: (x) => (x >= 1 && x <= h - 1 ? this.#canonical[x - 1]?.timeMs : undefined),
      });
      if (problem === undefined) continue;
      // The fast scheme's signatures are not Ed25519: checked with the simulator's verifier instead.
      if (problem.code === 'BAD_SIGNATURE' && this.#ctx.signaturesChecked === false && this.#signaturesOk(ev))
        continue;
      return `invalid evidence: ${problem.code} ${problem.reason ?? ''}`.trim();
    }
    return undefined;
  }

  #signaturesOk(ev: Evidence): boolean {
    const set = this.#ctx.reference.validatorSetAt(evidenceHeight(ev));
    const v = set?.validators[validatorIndex(set, evidenceValidator(ev))];
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
   * event in which the node decided. The node's pool must hold the
   * infraction by then (its consensus reported it, or a peer's evidence
   * came first) — unless the pool has no use for it: it holds another
   * infraction of the validator at that height (one punishment per
   * validator and height: `punishmentKey`), or its per-validator maximum
   * (`EvidencePool`'s maxPerValidator, 2), or such evidence is committed, or
   * the validator is tombstoned.
   */
  evidenceDue(node: number, height: number): void {
    // (a twin, node `validators`, is not watched: it is Byzantine)
    const seen = this.#seen[node];
    if (seen === undefined || seen.size === 0) return;
    const pooled = this.#pooled[node] as Set<string>;
    const pooledPunishments = this.#pooledPunishments[node] as Set<string>;
    const perValidator = this.#pooledPerValidator[node] as Map<number, number>;
    for (const [key, e] of seen) {
      if (e.due !== undefined && e.due <= height) {
        const validator = this.#validatorOf(key);
        const [, addr, h] = key.split('/');
        const punishment = `${addr}/${h}`;
        const useless =
          pooledPunishments.has(punishment) ||
          this.#committedPunishments.has(punishment) ||
          (perValidator.get(validator) ?? 0) >= 2 ||
          this.#ctx.reference.slashing.status(this.#ctx.addresses[validator] as Uint8Array)?.tombstoned ===
            true;
        if (!pooled.has(key) && !useless) {
          this.#safety(
            'evidence-missing',
            `node ${node} saw an equivocation (${infractionLabel(key)}) of validator ${this.#validatorOf(key)} and did not report it by height ${height}`,
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

  /** What the decided chain did to validators (the reference's view, at the end). */
  punishmentStats(): PunishmentStats {
    const count = (r: SimPunishment['reason']): number =>
      this.#punishments.filter((p) => p.reason === r).length;
    const slashing = this.#ctx.reference.slashing;
    let jailed = 0;
    let tombstoned = 0;
    for (const a of this.#ctx.addresses) {
      const st = slashing.status(a);
      if (st?.jailed === true) jailed++;
      if (st?.tombstoned === true) tombstoned++;
    }
    return {
      evidenceCommitted: this.#evidenceCommitted,
      doubleSign: count('double-sign'),
      doubleProposal: count('double-proposal'),
      downtime: count('downtime'),
      jailed,
      tombstoned,
      honestMissStreak: this.#honestMissStreak,
    };
  }

  /**
   * The end-of-run checks (after the liveness phase), on every honest node
   * that is up (H* = the lowest height among them; "node height" = the
   * height that node executed):
   *
   * 1. every such node's record of punished validators at H* (the ledger's
   *    `slashing/punished` query at that height) equals the reference's;
   * 2. every validator accused by evidence committed in a decided block at or
   *    below the node's height is slashed (stake burned, an equivocation
   *    counted), jailed for ever and tombstoned on that node, and is not in
   *    the validator set two heights after the block that punished it (nor
   *    is a validator jailed for downtime);
   * 3. every infraction an honest node saw (its engine reported it or its
   *    pool accepted it) is committed in a decided block at or below every
   *    such node's height, so the validator is punished by 2, unless the
   *    validator was tombstoned for another infraction (the ledger punishes
   *    once). Pools keep pending evidence in the evidence store, so a crash
   *    loses none; evidence still pending in an up node's pool at the end is
   *    a failure (`evidence-stuck`): the liveness phase goes on until every
   *    up honest pool is empty and every up honest node has executed the
   *    last block that carried evidence;
   * 4. every silent Byzantine validator (it sends nothing) is jailed for
   *    downtime on every such node whose height is past the first full window
   *    (signedBlocksWindow + 1); the run's liveness phase is long enough for
   *    that, and a note says so when it is not;
   * 5. no honest validator is tombstoned, counted as an equivocator, or
   *    jailed for downtime on any such node.
   */
  async finalCheck(nodes: readonly FinalNode[]): Promise<void> {
    const ref = this.#ctx.reference;
    const refSlashing = ref.slashing;
    if (this.#failure !== undefined) return;
    const live: { readonly index: number; readonly view: NodeView }[] = [];
    for (const n of nodes)
      if (n.honest && n.up && n.view !== undefined) live.push({ index: n.index, view: n.view });
    if (live.length === 0) return;
    const fail = (check: CheckName, reason: string): void => this.#safety(check, reason);
    const address = (i: number): Uint8Array => this.#ctx.addresses[i] as Uint8Array;
    const hStar = Math.min(...live.map((n) => n.view.height));
    // 1. Every honest node agrees on who was punished, and how.
    const want = await refSlashing.punishedAt(hStar);
    for (const n of live) {
      const got = await n.view.slashing.punishedAt(hStar);
      if (got !== want)
        fail(
          'punishment',
          `node ${n.index}'s punishment records at height ${hStar} differ from the decided chain's`,
        );
    }
    // 2. Committed evidence: the accused is slashed, jailed for ever and tombstoned.
    for (const n of live) {
      for (const [key, c] of this.#committed) {
        if (c.height > n.view.height) continue;
        const st = n.view.slashing.status(address(c.accused));
        if (
          st === undefined ||
          !st.tombstoned ||
          !st.jailedForever ||
          st.equivocations < 1 ||
          st.totalBurned <= 0n
        ) {
          fail(
            'punishment',
            `validator ${c.accused}'s equivocation (${infractionLabel(key)}) was committed at height ${c.height}, but on node ${n.index} it is not slashed, jailed for ever and tombstoned`,
          );
        }
      }
    }
    for (const p of this.#punishments) {
      const set = ref.validatorSetAt(p.height + 2);
      if (set !== undefined && validatorIndex(set, p.validator) >= 0)
        fail(
          'punishment',
          `validator ${p.index}, punished (${p.reason}) at height ${p.height}, is still in the validator set of height ${p.height + 2}`,
        );
    }
    // 3. Every infraction honest nodes saw made it on chain, or its validator was tombstoned for an
    // equivocation already (the ledger punishes a validator once; the pools keep one item per
    // (validator, height) and a few per validator).
    const tombstoned = new Set(this.#punishments.filter((p) => p.reason !== 'downtime').map((p) => p.index));
    const pending = new Map<number, Set<string>>();
    for (const n of live) pending.set(n.index, new Set((await n.view.pendingEvidence()).map(infractionKey)));
    for (const [key, accused] of this.#seenInfractions) {
      const c = this.#committed.get(key);
      if (c === undefined && tombstoned.has(accused)) continue;
      if (c !== undefined) {
        const behind = live.filter((n) => n.view.height < c.height).map((n) => n.index);
        if (behind.length > 0)
          fail(
            'evidence-stuck',
            `validator ${accused}'s evidence (${infractionLabel(key)}) was committed at height ${c.height}, above the height of nodes ${behind.join(',')}`,
          );
        continue;
      }
      const holding = live.filter((n) => pending.get(n.index)?.has(key) === true);
      if (holding.length > 0) {
        fail(
          'evidence-stuck',
          `validator ${accused}'s evidence (${infractionLabel(key)}) is still pending in the pools of nodes ${holding.map((n) => n.index).join(',')}`,
        );
        continue;
      }
      const holders = [...(this.#holders.get(key) ?? [])].sort((a, b) => a - b);
      fail(
        'punishment',
        holders.length > 0
          ? `validator ${accused}'s evidence (${infractionLabel(key)}) left the pools of nodes ${holders.join(',')} without being committed`
          : `validator ${accused}'s evidence (${infractionLabel(key)}) was reported, but no honest pool ever held it`,
      );
    }
    // 4. Silent Byzantine validators are jailed for downtime once a full window has passed.
    const window = this.#ctx.params.slashing.signedBlocksWindow;
    this.#ctx.silent?.forEach((silent, i) => {
      if (!silent) return;
      for (const n of live) {
        if (n.view.height < window + 1) {
          this.notes.push(
            `silent validator ${i}: node ${n.index} ended at height ${n.view.height}, before the first full downtime window (height ${window + 1})`,
          );
          continue;
        }
        const st = n.view.slashing.status(address(i));
        if (st === undefined || !st.jailed || st.downtimeJails < 1)
          fail(
            'punishment',
            `silent validator ${i} is not jailed for downtime on node ${n.index} at height ${n.view.height}`,
          );
      }
    });
    // 5. No honest validator punished.
    this.#ctx.honest.forEach((honest, i) => {
      if (!honest) return;
      for (const n of live) {
        const st = n.view.slashing.status(address(i));
        if (st === undefined)
          fail('honest-punished', `honest validator ${i} is unknown to node ${n.index}'s ledger`);
        else if (st.tombstoned || st.equivocations > 0 || st.downtimeJails > 0 || st.jailed)
          fail(
            'honest-punished',
            `honest validator ${i} is punished on node ${n.index} (equivocations ${st.equivocations}, downtime jails ${st.downtimeJails})`,
          );
      }
    });
  }
}
