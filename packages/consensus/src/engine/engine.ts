/**
 * The consensus engine: the only impure part of @synod/consensus. It maps
 * @synod/types messages to core inputs (checking signatures), feeds the pure
 * core one input at a time, and executes the core's effects through the ports
 * in the order written in ARCHITECTURE.md ("Consensus engine: effect order"):
 *
 * 1. every input is appended to the WAL before the core sees it;
 * 2. an own message is appended to the WAL with `sync` (which also makes every
 *    input before it durable), then
 * 3. signed by the Signer, which persists its last-sign state before it
 *    returns the signature;
 * 4. its signature is recorded in the WAL, and only then
 * 5. it is broadcast — and delivered back to the core, which counts the
 *    node's own messages only once they are signed;
 * 6. a decision saves block + commit, finalizes the block in the
 *    application, writes the WAL end-of-height marker, waits the commit
 *    timeout and starts the next height.
 *
 * Inputs are processed strictly one after another (a promise queue), so the
 * engine is deterministic given its ports: the simulator runs N engines in one
 * process over a simulated clock, network and storage.
 */
import { verify as cryptoVerify, fromHex, toHex } from '@synod/crypto';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  type Commit,
  type CommitSig,
  type ConsensusParams,
  type Counter,
  canonicalEvidence,
  type Evidence,
  type Gauge,
  isSynodError,
  LIMITS,
  type Logger,
  noopLogger,
  noopMetrics,
  type Proposal,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type SignStep,
  SynodError,
  totalVotingPower,
  type ValidatorSet,
  type Vote,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';
import { ConsensusCore } from '../core.js';
import { ROUND_LOOKAHEAD_MAX } from '../round/height-machine.js';
import { commitTimeoutMs, scaleTimeouts, TIMEOUT_SCALE_MAX, TIMEOUT_SCALE_MIN } from '../timeouts.js';
import type { CommitVotes, CoreEffect, CoreInput, CoreState, ValueId } from '../types.js';
import { decodeWalEntry, encodeWalEntry, type WalEntry } from '../wal-records.js';
import type { ConflictingCommits, ConsensusEngineOptions } from './ports.js';

/** What the core stores as a message's signed payload. */
export type EngineSignedMessage = SignedVote | SignedProposal;

function isSignedVote(m: EngineSignedMessage): m is SignedVote {
  return 'vote' in m;
}

type Effect = CoreEffect<EngineSignedMessage>;

const ZERO_SIGNATURE = new Uint8Array(64);
const FUTURE_MESSAGES_MAX = 10_000;
/**
 * Next-height messages kept per validator (by address): an honest validator
 * sends one proposal per round it proposes and two votes per round, and only
 * a few rounds pass during our commit wait. One validator cannot fill the
 * buffer and crowd out the others' round-0 messages.
 */
const FUTURE_VOTES_PER_VALIDATOR = 32;
const FUTURE_PROPOSALS_PER_VALIDATOR = 2;
/** First delay before retrying a failed block fetch or a validation that threw; doubles per attempt. */
const RETRY_BASE_MS = 250;
/** Longest delay between two attempts. */
const RETRY_MAX_MS = 8_000;

/** Delay before retry number `attempt` (0-based): RETRY_BASE_MS · 2^attempt, at most RETRY_MAX_MS. */
function retryDelayMs(attempt: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.min(attempt, 30), RETRY_MAX_MS);
}

type FutureMessage =
  | { readonly kind: 'vote'; readonly vote: SignedVote; readonly verifiedKey: Uint8Array }
  | {
      readonly kind: 'proposal';
      readonly proposal: SignedProposal;
      readonly block: Block | undefined;
      readonly verifiedKey: Uint8Array;
    };

interface EngineMetrics {
  readonly height: Gauge;
  readonly round: Gauge;
  readonly halted: Gauge;
  readonly votes: Counter;
  readonly rejected: Counter;
  readonly committed: Counter;
  readonly equivocations: Counter;
  readonly signerRefusals: Counter;
  readonly securityAlerts: Counter;
}

/** A snapshot for status pages and tests. */
export interface EngineStatus extends CoreState {
  /** Set when the engine stopped itself because a port failed unsafely, or on a security alert. */
  readonly halted: string | undefined;
  /** Two valid commits for different blocks at one height were seen: more than 1/3 of the power is Byzantine. */
  readonly securityAlert:
    | { readonly height: number; readonly blockA: string; readonly blockB: string }
    | undefined;
}

const signKey = (height: number, round: number, step: SignStep): string => `${height}/${round}/${step}`;

/** Identifies a vote within its height: type, round, validator (index or 0 when keyed by address), value. */
const voteKey = (v: Vote, validator: number): string =>
  `${v.type === 'prevote' ? 'v' : 'c'}/${v.round}/${validator}/${v.blockHash === null ? 'nil' : toHex(v.blockHash)}`;

/** A vote as the core sees it (validator by index in its height's set), without its signed payload. */
function voteInput(v: Vote, validator: number) {
  return {
    type: v.type,
    height: v.height,
    round: v.round,
    valueId: v.blockHash === null ? null : toHex(v.blockHash),
    validator,
  };
}

export class ConsensusEngine {
  private readonly o: ConsensusEngineOptions;
  private readonly log: Logger;
  private readonly verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  private readonly core: ConsensusCore<EngineSignedMessage>;
  private readonly metrics: EngineMetrics;
  private queue: Promise<void> = Promise.resolve();
  private haltError: Error | undefined;
  private alert: ConflictingCommits | undefined;
  private stopped = false;
  private started = false;
  private replaying = false;

  private height: number;
  private set: ValidatorSet;
  private lastSet: ValidatorSet | undefined;
  private params: ConsensusParams;
  private readonly timeoutScale: number;
  /** The commit of height − 1 as saved (before late precommits). */
  private savedLastCommit: Commit;
  private next: { height: number; set: ValidatorSet } | undefined;
  /** Cancels the commit timeout while the next height waits for it. */
  private commitTimer: (() => void) | undefined;

  /**
   * Blocks of the current height with the application's verdict, by value id
   * (hex block hash). Only real verdicts: a validation that threw is retried
   * (`unvalidated`), never cached as "invalid".
   */
  private blocks = new Map<ValueId, { readonly block: Block; readonly valid: boolean }>();
  /** Value ids whose verdict the core has (it came with a proposal, a block input or our own value). */
  private delivered = new Set<ValueId>();
  /** Value ids the core asked for (`request-block`) and does not have: fetched, with retries, until they arrive. */
  private wanted = new Set<ValueId>();
  /** Blocks whose validation threw (a transient fault), retried with backoff. */
  private unvalidated = new Map<ValueId, Block>();
  /** Verified proposals of the round's proposer taken this height, by round: their value ids (at most two). */
  private proposalsSeen = new Map<number, ValueId[]>();
  /** Value ids of the proposals taken this height (a block for one of them is taken when it arrives alone). */
  private proposedValues = new Set<ValueId>();
  /** Timers of the current height's retries (cancelled when the height is decided). */
  private readonly retryTimers = new Set<() => void>();
  /** Sign bytes of our own messages already in the WAL, by (height, round, step). */
  private ownIntents = new Map<string, Uint8Array>();
  /** Our own proposals already in the WAL, by `${height}/${round}` (replay keeps their timestamps). */
  private ownProposals = new Map<string, Proposal>();
  /** Signatures of our own messages recorded in the WAL (replay), by (height, round, step). */
  private ownSignatures = new Map<string, Uint8Array>();
  /**
   * Evidence of the current height, waiting for its block time (evidence
   * carries the time of the block at its own height, which is known once
   * the height is decided).
   */
  private pendingEvidence: ((timeMs: number) => Evidence)[] = [];
  /** The height decided last, its round and block time (evidence seen after the decision uses it). */
  private decided: { height: number; round: number; timeMs: number } | undefined;
  private future: FutureMessage[] = [];
  /** Next-height messages buffered, per validator (hex address), and their identities (a repeat is not buffered twice). */
  private futureCounts = new Map<string, { votes: number; proposals: number }>();
  private futureSeen = new Set<string>();
  private readonly timers = new Set<() => void>();
  private deferredValue: { height: number; round: number } | undefined;
  private deferredBlocks: ValueId[] = [];

  constructor(options: ConsensusEngineOptions) {
    this.o = options;
    this.log = (options.logger ?? noopLogger).child({ module: 'consensus' });
    this.verify = options.verifySignature ?? cryptoVerify;
    this.height = options.start.height;
    this.set = options.start.validatorSet;
    this.params = options.params;
    this.timeoutScale = options.timeoutScale ?? 1;
    if (
      !Number.isFinite(this.timeoutScale) ||
      this.timeoutScale < TIMEOUT_SCALE_MIN ||
      this.timeoutScale > TIMEOUT_SCALE_MAX
    )
      throw new SynodError(
        'CONFIG_INVALID',
        `timeoutScale must be in [${TIMEOUT_SCALE_MIN}, ${TIMEOUT_SCALE_MAX}], got ${this.timeoutScale}`,
      );
    this.savedLastCommit = options.start.lastCommit;
    this.core = new ConsensusCore<EngineSignedMessage>({
      selfAddress: options.signer?.address ?? null,
      timeouts: this.timeouts(),
    });
    const m = options.metrics ?? noopMetrics;
    this.metrics = {
      height: m.gauge({ name: 'synod_consensus_height', help: 'Height the consensus engine is deciding' }),
      round: m.gauge({ name: 'synod_consensus_round', help: 'Round of the current height' }),
      halted: m.gauge({
        name: 'synod_consensus_halted',
        help: '1 when the engine stopped itself after an unsafe failure',
      }),
      votes: m.counter({
        name: 'synod_consensus_votes_received_total',
        help: 'Votes with a valid signature from a validator',
        labelNames: ['type'],
      }),
      rejected: m.counter({
        name: 'synod_consensus_messages_rejected_total',
        help: 'Consensus messages dropped (bad signature, unknown validator, wrong proposer)',
        labelNames: ['reason'],
      }),
      committed: m.counter({
        name: 'synod_consensus_blocks_committed_total',
        help: 'Blocks decided and committed',
      }),
      equivocations: m.counter({
        name: 'synod_consensus_equivocations_total',
        help: 'Duplicate votes and double proposals seen',
        labelNames: ['kind'],
      }),
      signerRefusals: m.counter({
        name: 'synod_consensus_signer_refusals_total',
        help: 'Own messages the signer refused (double-sign guard)',
      }),
      securityAlerts: m.counter({
        name: 'synod_consensus_security_alerts_total',
        help: 'Conflicting commits seen (more than 1/3 of the power Byzantine); the engine halts',
      }),
    };
  }

  // ------------------------------------------------------------------ public API

  /**
   * Replays the WAL of the start height (if any) to where the node was, then
   * runs. Resolves once the replay is done.
   */
  start(): Promise<void> {
    return this.enqueue(async () => {
      if (this.started) throw new SynodError('INTERNAL', 'consensus engine already started');
      this.started = true;
      await this.replay();
    });
  }

  /** Stops timers and waits for the work in progress; later inputs are ignored. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimers();
    await this.queue;
  }

  /** A vote from the network. Resolves once processed. */
  receiveVote(vote: SignedVote): Promise<void> {
    return this.enqueue(() => this.onVote(vote));
  }

  /** A proposal from the network, with its block when it came along. Resolves once processed. */
  receiveProposal(proposal: SignedProposal, block?: Block): Promise<void> {
    return this.enqueue(() => this.onProposal(proposal, block));
  }

  /** A block from the network (e.g. fetched by hash). Resolves once processed. */
  receiveBlock(block: Block): Promise<void> {
    return this.enqueue(() => this.onBlock(block));
  }

  /**
   * Starts the next height now when the current one is decided and waits out
   * the commit timeout (else nothing). For a node catching up on heights its
   * peers have already left: the timeout gathers late precommits and gives
   * slow validators time, which is moot for a height the network is past,
   * and paying it at every height keeps such a node behind a chain whose
   * block time is about that timeout. Resolves once the height started.
   */
  skipCommitTimeout(): Promise<void> {
    return this.enqueue(async () => {
      // No timer pending: not decided, already started, or stopped at the halt height.
      const cancel = this.commitTimer;
      if (this.next === undefined || cancel === undefined) return;
      this.commitTimer = undefined;
      cancel();
      this.timers.delete(cancel);
      await this.startNextHeight();
    });
  }

  /** Resolves when every input received so far has been processed. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** The core's round of `height` when it is deciding that height, else undefined (cheaper than `status()`). */
  roundAt(height: number): number | undefined {
    return this.core.roundAt(height);
  }

  status(): EngineStatus | undefined {
    const st = this.core.state();
    if (st === undefined) return undefined;
    const a = this.alert;
    return {
      ...st,
      halted: this.haltError?.message,
      securityAlert:
        a === undefined
          ? undefined
          : { height: a.height, blockA: toHex(a.commitA.blockHash), blockB: toHex(a.commitB.blockHash) },
    };
  }

  /**
   * What this engine holds for `height` (the liveness protocol's answer to a
   * peer stuck at `round`): the proposals, with their blocks, and the votes
   * of the rounds that matter to it — `round`, our current and previous
   * round, and the rounds of our lock and valid value (their prevotes are the
   * proof-of-lock a re-proposal needs). Undefined for another height than
   * the one being decided. Bounded by what the core keeps: per round at most
   * one proposal and two votes per validator.
   */
  heldMessages(
    height: number,
    round: number,
  ):
    | { readonly proposals: { signedProposal: SignedProposal; block: Block }[]; readonly votes: SignedVote[] }
    | undefined {
    const st = this.core.state();
    if (st === undefined || st.height !== height || this.stopped) return undefined;
    const rounds = new Set<number>();
    for (const r of [round, st.round, st.round - 1, st.lockedRound, st.validRound])
      if (Number.isInteger(r) && r >= 0 && r <= st.round + ROUND_LOOKAHEAD_MAX) rounds.add(r);
    const held = this.core.heldSigned(rounds);
    const proposals: { signedProposal: SignedProposal; block: Block }[] = [];
    for (const m of held.proposals) {
      if (isSignedVote(m)) continue;
      const known = this.blocks.get(toHex(m.proposal.blockHash));
      // A proposal is useful only with its block, and only with a valid one.
      if (known?.valid === true) proposals.push({ signedProposal: m, block: known.block });
    }
    const votes: SignedVote[] = [];
    for (const m of held.votes) if (isSignedVote(m)) votes.push(m);
    return { proposals, votes };
  }

  get halted(): Error | undefined {
    return this.haltError;
  }

  /** The security alert, once raised (both commits: keep them as evidence). */
  get securityAlert(): ConflictingCommits | undefined {
    return this.alert;
  }

  /**
   * A commit seen outside this engine's own decisions (block sync, gossip, a
   * block's last commit). The caller must have verified it against the
   * validator set of its height (`commitProblem` from @synod/types): a
   * conflicting commit halts the node. Processed even when the engine is
   * halted for another reason, so the alert is never missed.
   */
  observeCommit(commit: Commit): void {
    this.checkCommit(commit);
  }

  private checkCommit(commit: Commit): void {
    const alert = this.o.commitMonitor?.observe(commit);
    if (alert === undefined || this.alert !== undefined) return;
    this.alert = alert;
    this.metrics.securityAlerts.inc();
    this.log.error(
      'SECURITY ALERT: two valid commits for different blocks at one height; block production stopped',
      {
        event: 'conflicting_commits',
        height: alert.height,
        blockA: toHex(alert.commitA.blockHash),
        blockB: toHex(alert.commitB.blockHash),
      },
    );
    this.o.onSecurityAlert?.(alert);
    this.halt(
      new SynodError(
        'SECURITY_CONFLICTING_COMMITS',
        `conflicting commits at height ${alert.height}: more than 1/3 of the voting power is Byzantine`,
      ),
    );
  }

  // ------------------------------------------------------------------ queue

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.haltError !== undefined || this.stopped) return;
      try {
        await task();
      } catch (err) {
        this.halt(err);
      }
      const st = this.core.state();
      if (st !== undefined) {
        this.metrics.height.set(st.height);
        this.metrics.round.set(st.round);
      }
    });
    this.queue = run;
    return run;
  }

  private halt(err: unknown): void {
    if (this.haltError !== undefined) return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.haltError = error;
    this.metrics.halted.set(1);
    this.cancelTimers();
    this.log.error('consensus engine halted', {
      event: 'consensus_halted',
      error: error.message,
      code: isSynodError(error) ? error.code : undefined,
      height: this.height,
    });
    this.o.onHalt?.(error);
  }

  private setTimer(ms: number, fire: () => void): () => void {
    const cancel = this.o.clock.setTimer(ms, () => {
      this.timers.delete(cancel);
      if (!this.stopped && this.haltError === undefined) fire();
    });
    this.timers.add(cancel);
    return cancel;
  }

  /** A retry of the current height's work (block fetch, validation); cancelled when the height is decided. */
  private setRetryTimer(ms: number, fire: () => void): void {
    const cancel = this.setTimer(ms, () => {
      this.retryTimers.delete(cancel);
      fire();
    });
    this.retryTimers.add(cancel);
  }

  private cancelTimers(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.retryTimers.clear();
  }

  /** The height is decided or over: nothing more to fetch or validate for it. */
  private endHeightWork(): void {
    for (const cancel of this.retryTimers) {
      cancel();
      this.timers.delete(cancel);
    }
    this.retryTimers.clear();
    this.wanted.clear();
    this.unvalidated.clear();
  }

  // ------------------------------------------------------------------ replay

  private async replay(): Promise<void> {
    const h = this.height;
    let records = await this.o.wal.recordsAfterEndHeight(h - 1);
    if (records === undefined) {
      // The block of h − 1 was saved but the node stopped before the end-of-height marker.
      this.log.warn('WAL has no end-of-height marker for the previous height; writing it', { height: h - 1 });
      await this.o.wal.writeEndHeight(h - 1);
      records = [];
    }
    const entries = records.map((r) => decodeWalEntry(r.data));
    for (const e of entries) {
      if (e.kind === 'own-vote') {
        this.ownIntents.set(
          signKey(e.vote.height, e.vote.round, e.vote.type),
          voteSignBytes(this.o.chainId, e.vote),
        );
      } else if (e.kind === 'own-proposal') {
        const p = e.proposal;
        this.ownIntents.set(signKey(p.height, p.round, 'proposal'), proposalSignBytes(this.o.chainId, p));
        this.ownProposals.set(`${p.height}/${p.round}`, p);
      } else if (e.kind === 'own-signature') {
        this.ownSignatures.set(signKey(e.height, e.round, e.step), e.signature);
      }
    }
    this.replaying = true;
    try {
      await this.execute(this.core.step({ kind: 'start-height', height: h, validatorSet: this.set }));
      for (const e of entries) await this.replayEntry(e);
    } finally {
      this.replaying = false;
    }
    if (entries.length > 0) this.log.info('replayed consensus WAL', { height: h, records: entries.length });
    // Work the replay could not finish: the value we were asked for, blocks still missing.
    const value = this.deferredValue;
    this.deferredValue = undefined;
    if (value !== undefined) this.requestValue(value.height, value.round);
    const blocks = this.deferredBlocks;
    this.deferredBlocks = [];
    for (const id of blocks) await this.onRequestBlock(id);
  }

  private async replayEntry(e: WalEntry): Promise<void> {
    switch (e.kind) {
      case 'proposal': {
        const p = e.proposal.proposal;
        const index = validatorIndex(this.set, p.proposerAddress);
        if (p.height !== this.height || index < 0) return;
        if (e.block !== null && e.valid !== null)
          this.blocks.set(toHex(p.blockHash), { block: e.block, valid: e.valid });
        await this.feed(this.proposalInput(e.proposal, index, e.valid), e);
        return;
      }
      case 'vote':
        await this.onVerifiedVote(e.vote, true);
        return;
      case 'block': {
        const id = toHex(blockHash(e.block));
        this.blocks.set(id, { block: e.block, valid: e.valid });
        await this.feed({ kind: 'block', height: e.block.header.height, valueId: id, valid: e.valid }, e);
        return;
      }
      case 'timeout':
        await this.feed({ kind: 'timeout', step: e.step, height: e.height, round: e.round }, e);
        return;
      case 'value': {
        const id = toHex(blockHash(e.block));
        this.blocks.set(id, { block: e.block, valid: true });
        if (this.deferredValue?.height === e.height && this.deferredValue.round === e.round)
          this.deferredValue = undefined;
        await this.feed({ kind: 'value', height: e.height, round: e.round, valueId: id }, e);
        return;
      }
      default:
        return; // own messages: collected before the replay
    }
  }

  // ------------------------------------------------------------------ inputs

  /**
   * Append the input to the WAL (unless it is being replayed from there), step
   * the core, run the effects. Callers pass only inputs that can change the
   * core's state (deduplicated before), so the WAL — and the memory a restart
   * needs to replay it — grows with the height's distinct messages, not with
   * what the network repeats.
   */
  private async feed(input: CoreInput<EngineSignedMessage>, entry: WalEntry): Promise<void> {
    if (!this.replaying) {
      const record = encodeWalEntry(entry);
      if (record.length > LIMITS.walRecordBytesMax) {
        // Only a block above LIMITS.blockBytesMax (which no peer can decode) makes a record this large.
        this.metrics.rejected.inc({ reason: 'oversize' });
        this.log.warn('input too large for the WAL; dropped', { kind: entry.kind, bytes: record.length });
        return;
      }
      await this.o.wal.append(record);
    }
    this.noteDelivered(entry);
    await this.execute(this.core.step(input));
  }

  /** Records which block verdicts the core now has (live and during replay). */
  private noteDelivered(entry: WalEntry): void {
    let id: ValueId | undefined;
    if (entry.kind === 'proposal') {
      const p = entry.proposal.proposal;
      const vid = toHex(p.blockHash);
      const seen = this.proposalsSeen.get(p.round);
      if (seen === undefined) this.proposalsSeen.set(p.round, [vid]);
      else if (!seen.includes(vid)) seen.push(vid);
      this.proposedValues.add(vid);
      if (entry.valid !== null) id = vid;
    } else if (entry.kind === 'block' || entry.kind === 'value') {
      id = toHex(blockHash(entry.block));
    }
    if (id === undefined) return;
    this.delivered.add(id);
    this.wanted.delete(id);
    this.unvalidated.delete(id);
  }

  private async onVote(sv: SignedVote, verifiedKey?: Uint8Array): Promise<void> {
    const v = sv.vote;
    if (v.height === this.height + 1) {
      this.bufferFuture({ kind: 'vote', vote: sv }, v.validatorAddress);
      return;
    }
    const st = this.core.state();
    if (st === undefined) return;
    // Cheap checks first, then the signature; only a vote the core has not seen reaches the WAL.
    let set: ValidatorSet;
    let toWal = true;
    if (v.height === this.height) {
      // [IGNORE] too far ahead: the core would drop it.
      if (v.round > st.round + ROUND_LOOKAHEAD_MAX) return;
      if (st.decision !== null) {
        // Decided: only precommits of the decision round still matter (they extend the commit the
        // next block carries). A restart takes that commit from the block store, so no WAL.
        if (v.type !== 'precommit' || v.round !== this.decided?.round) return;
        toWal = false;
      }
      set = this.set;
    } else if (v.height === this.height - 1 && v.type === 'precommit' && this.lastSet !== undefined) {
      // Late precommits of the previous height's decision round: same, no WAL.
      if (this.decided?.height !== v.height || v.round !== this.decided.round) return;
      set = this.lastSet;
      toWal = false;
    } else return;
    const index = validatorIndex(set, v.validatorAddress);
    if (index < 0) {
      this.metrics.rejected.inc({ reason: 'unknown_validator' });
      this.log.debug('vote from a non-validator', { height: v.height });
      return;
    }
    // A repeat, or an equivocator's vote the core would drop: no signature check, no WAL.
    if (!this.core.admitsVote(voteInput(v, index))) return;
    const validator = set.validators[index] as ValidatorSet['validators'][number];
    const checked = verifiedKey !== undefined && bytesEqual(verifiedKey, validator.pubKey);
    if (!checked && !this.verify(validator.pubKey, voteSignBytes(this.o.chainId, v), sv.signature)) {
      this.metrics.rejected.inc({ reason: 'invalid_signature' });
      this.log.warn('vote with an invalid signature', {
        event: 'invalid_signature',
        height: v.height,
        round: v.round,
        validator: index,
      });
      return;
    }
    this.metrics.votes.inc({ type: v.type });
    await this.onVerifiedVote(sv, toWal);
  }

  /** The validator set that signs votes of `height` (current, or the previous height's precommits). */
  private setFor(height: number, type: Vote['type']): ValidatorSet | undefined {
    if (height === this.height) return this.set;
    if (height === this.height - 1 && type === 'precommit') return this.lastSet;
    return undefined;
  }

  /** A vote whose signature is checked (or replayed from the WAL): to the core, and to the WAL when `toWal`. */
  private async onVerifiedVote(sv: SignedVote, toWal: boolean): Promise<void> {
    const v = sv.vote;
    const set = this.setFor(v.height, v.type);
    if (set === undefined) return;
    const index = validatorIndex(set, v.validatorAddress);
    if (index < 0) return;
    const input: CoreInput<EngineSignedMessage> = { kind: 'vote', ...voteInput(v, index), signed: sv };
    if (!this.core.admitsVote(input)) return;
    if (toWal) await this.feed(input, { kind: 'vote', vote: sv });
    else await this.execute(this.core.step(input));
  }

  private proposalInput(
    sp: SignedProposal,
    index: number,
    valid: boolean | null,
  ): CoreInput<EngineSignedMessage> {
    const p = sp.proposal;
    return {
      kind: 'proposal',
      height: p.height,
      round: p.round,
      polRound: p.polRound,
      valueId: toHex(p.blockHash),
      proposer: index,
      signed: sp,
      ...(valid === null ? {} : { valid }),
    };
  }

  private async onProposal(
    sp: SignedProposal,
    block: Block | undefined,
    verifiedKey?: Uint8Array,
  ): Promise<void> {
    const p = sp.proposal;
    if (p.height === this.height + 1) {
      this.bufferFuture({ kind: 'proposal', proposal: sp, block }, p.proposerAddress);
      return;
    }
    const st = this.core.state();
    if (p.height !== this.height || st === undefined || st.decision !== null) return;
    if (p.round > st.round + ROUND_LOOKAHEAD_MAX) return;
    if (!Number.isSafeInteger(p.polRound) || p.polRound < -1 || p.polRound >= p.round) return;
    const id = toHex(p.blockHash);
    const matches =
      block !== undefined && block.header.height === p.height && bytesEqual(blockHash(block), p.blockHash);
    if (block !== undefined && !matches) {
      this.log.warn('proposal carried a block that does not match its hash', {
        height: p.height,
        round: p.round,
      });
    }
    const seen = this.proposalsSeen.get(p.round);
    if (seen?.includes(id)) {
      // Taken already: only its block can be new to the core (the hash authenticates it).
      if (matches) await this.offerBlock(id, block);
      return;
    }
    // The round's first proposal and one conflicting one (double-proposal evidence) are taken; a
    // third value of one round is dropped (its block is fetched by hash if a quorum ever needs it).
    if (seen !== undefined && seen.length >= 2) return;
    const index = validatorIndex(this.set, p.proposerAddress);
    if (index < 0) {
      this.metrics.rejected.inc({ reason: 'unknown_validator' });
      return;
    }
    // Over the claimed proposer's quota of messages in rounds above ours: dropped before any work.
    if (!this.core.admitsProposal(p.height, p.round, index)) {
      this.metrics.rejected.inc({ reason: 'future_round_quota' });
      return;
    }
    // The signature against the claimed proposer's key before the round's proposer is computed
    // (`proposer(round)` for a far round costs O(validators) per round not yet computed).
    const proposer = this.set.validators[index] as ValidatorSet['validators'][number];
    const checked = verifiedKey !== undefined && bytesEqual(verifiedKey, proposer.pubKey);
    if (!checked && !this.verify(proposer.pubKey, proposalSignBytes(this.o.chainId, p), sp.signature)) {
      this.metrics.rejected.inc({ reason: 'invalid_signature' });
      this.log.warn('proposal with an invalid signature', {
        event: 'invalid_signature',
        height: p.height,
        round: p.round,
      });
      return;
    }
    // [IGNORE] not the round's proposer: do not even validate its block.
    if (this.core.proposer(p.round) !== index) {
      this.metrics.rejected.inc({ reason: 'wrong_proposer' });
      return;
    }
    // [IGNORE] a fresh proposal (no POL round) of a block that names another proposer: the round's
    // proposer would credit the block, and its rewards, to someone else. A re-proposal (polRound ≥ 0)
    // rightly keeps the proposer of the round the block was built in (L16). A proposal that arrives
    // without its block (not over @synod/p2p, whose proposals carry it) is not checked here: its
    // block, fetched later, is judged by the application alone.
    if (p.polRound === -1 && matches && !bytesEqual(block.header.proposerAddress, p.proposerAddress)) {
      this.metrics.rejected.inc({ reason: 'block_proposer_mismatch' });
      this.log.warn('fresh proposal of a block naming another proposer; ignored', {
        event: 'block_proposer_mismatch',
        height: p.height,
        round: p.round,
      });
      return;
    }
    const valid = matches ? await this.verdict(block, id) : undefined;
    await this.feed(this.proposalInput(sp, index, valid ?? null), {
      kind: 'proposal',
      proposal: sp,
      block: valid === undefined ? null : (block as Block),
      valid: valid ?? null,
    });
  }

  private async onBlock(block: Block): Promise<void> {
    if (block.header.height !== this.height || this.core.state()?.decision !== null) return;
    const id = toHex(blockHash(block));
    // Only a block the core lacks and can use: one it asked for, or the value of a proposal taken.
    if (!this.wanted.has(id) && !this.proposedValues.has(id)) {
      this.metrics.rejected.inc({ reason: 'unsolicited_block' });
      return;
    }
    await this.offerBlock(id, block);
  }

  /** A block (its hash already checked) for the core, if the core does not have its verdict yet. */
  private async offerBlock(id: ValueId, block: Block): Promise<void> {
    if (this.delivered.has(id)) return;
    const valid = await this.verdict(block, id);
    if (valid === undefined) return; // no verdict yet: the retry hands it over
    await this.feed(
      { kind: 'block', height: this.height, valueId: id, valid },
      { kind: 'block', block, valid },
    );
  }

  /**
   * valid(v): the application's verdict, once per block; undefined when there
   * is none (yet). A body that does not match its header is no verdict for that
   * hash (the block with the right body may still come); a validation that
   * throws is retried with backoff (`retryValidation`), never taken as "invalid".
   */
  private async verdict(block: Block, id: ValueId): Promise<boolean | undefined> {
    const known = this.blocks.get(id);
    if (known !== undefined) return known.valid;
    if (this.unvalidated.has(id)) return undefined; // the retry owns it
    const problem = blockDataProblem(block);
    if (problem !== undefined) {
      this.metrics.rejected.inc({ reason: 'block_data_mismatch' });
      this.log.warn('block whose contents do not match its header; dropped', { problem });
      return undefined;
    }
    return this.tryValidate(block, id, 0);
  }

  private async tryValidate(block: Block, id: ValueId, attempt: number): Promise<boolean | undefined> {
    let valid: boolean;
    try {
      valid = await this.o.application.validateBlock(block);
    } catch (err) {
      this.log.warn('block validation failed; retrying', {
        error: (err as Error).message,
        height: block.header.height,
        attempt,
      });
      this.retryValidation(block, id, attempt);
      return undefined;
    }
    this.unvalidated.delete(id);
    this.blocks.set(id, { block, valid });
    return valid;
  }

  private retryValidation(block: Block, id: ValueId, attempt: number): void {
    this.unvalidated.set(id, block);
    const height = this.height;
    this.setRetryTimer(retryDelayMs(attempt), () => {
      void this.enqueue(async () => {
        if (height !== this.height || this.unvalidated.get(id) !== block || this.delivered.has(id)) return;
        const valid = await this.tryValidate(block, id, attempt + 1);
        if (valid !== undefined)
          await this.feed(
            { kind: 'block', height: this.height, valueId: id, valid },
            { kind: 'block', block, valid },
          );
      });
    });
  }

  /**
   * Buffers a message of the next height, after its signature is checked
   * against the next height's validator set — the one the application
   * returned at the decision, or, before that, the current set (sets change
   * slowly; every buffered message goes through all the checks again, against
   * the real set, when the height starts). Each validator has a quota, so one
   * of them cannot crowd out the others; a repeat is not buffered twice.
   */
  private bufferFuture(
    m:
      | { readonly kind: 'vote'; readonly vote: SignedVote }
      | Omit<Extract<FutureMessage, { kind: 'proposal' }>, 'verifiedKey'>,
    address: Uint8Array,
  ): void {
    if (this.future.length >= (this.o.futureMessagesMax ?? FUTURE_MESSAGES_MAX)) return;
    const set = this.next?.set ?? this.set;
    const index = validatorIndex(set, address);
    if (index < 0) return;
    const sender = toHex(address);
    const count = this.futureCounts.get(sender) ?? { votes: 0, proposals: 0 };
    if (
      m.kind === 'vote'
        ? count.votes >= FUTURE_VOTES_PER_VALIDATOR
        : count.proposals >= FUTURE_PROPOSALS_PER_VALIDATOR
    )
      return;
    const identity =
      m.kind === 'vote'
        ? `${sender}/${voteKey(m.vote.vote, 0)}`
        : `${sender}/p/${m.proposal.proposal.round}/${toHex(m.proposal.proposal.blockHash)}/${m.block === undefined ? 0 : 1}`;
    if (this.futureSeen.has(identity)) return;
    const key = (set.validators[index] as ValidatorSet['validators'][number]).pubKey;
    const signBytes =
      m.kind === 'vote'
        ? voteSignBytes(this.o.chainId, m.vote.vote)
        : proposalSignBytes(this.o.chainId, m.proposal.proposal);
    const signature = m.kind === 'vote' ? m.vote.signature : m.proposal.signature;
    if (!this.verify(key, signBytes, signature)) {
      this.metrics.rejected.inc({ reason: 'invalid_signature' });
      return;
    }
    this.futureSeen.add(identity);
    if (m.kind === 'vote') count.votes++;
    else count.proposals++;
    this.futureCounts.set(sender, count);
    this.future.push({ ...m, verifiedKey: key });
  }

  // ------------------------------------------------------------------ effects

  private async execute(effects: readonly Effect[]): Promise<void> {
    for (const e of effects) {
      switch (e.kind) {
        case 'broadcast-proposal':
          await this.sendProposal(e);
          break;
        case 'broadcast-vote':
          await this.sendVote(e);
          break;
        case 'schedule-timeout': {
          const { step, height, round } = e;
          this.setTimer(e.durationMs, () => {
            void this.enqueue(async () => {
              // A timeout of a round the node has left (or of a decided height) changes nothing: no WAL.
              const st = this.core.state();
              if (height === this.height && st?.round === round && st.decision === null)
                await this.feed(
                  { kind: 'timeout', step, height, round },
                  { kind: 'timeout', step, height, round },
                );
            });
          });
          break;
        }
        case 'request-value':
          if (this.replaying) this.deferredValue = { height: e.height, round: e.round };
          else this.requestValue(e.height, e.round);
          break;
        case 'request-block':
          if (this.replaying) this.deferredBlocks.push(e.valueId);
          else await this.onRequestBlock(e.valueId);
          break;
        case 'decide':
          await this.decide(e);
          break;
        case 'duplicate-vote':
        case 'double-proposal':
          await this.noteEvidence(e);
          break;
      }
    }
  }

  /**
   * Steps 2–4 of the effect order: the own message goes to the WAL with fsync,
   * then to the signer (which persists its state before answering). Returns the
   * signature, or undefined when the signer refuses (double-sign guard).
   * Any other failure throws, which halts the engine: nothing is sent.
   */
  private async persistAndSign(
    entry: WalEntry,
    step: SignStep,
    height: number,
    round: number,
    signBytes: Uint8Array,
  ): Promise<Uint8Array | undefined> {
    const signer = this.o.signer;
    if (signer === null) return undefined;
    const key = signKey(height, round, step);
    const inWal = this.ownIntents.get(key);
    const sameAsWal = inWal !== undefined && bytesEqual(inWal, signBytes);
    if (!sameAsWal) {
      await this.o.wal.append(encodeWalEntry(entry), { sync: true });
      this.ownIntents.set(key, signBytes);
    }
    const recorded = sameAsWal ? this.ownSignatures.get(key) : undefined;
    if (recorded !== undefined) return recorded;
    let signature: Uint8Array;
    try {
      signature = await signer.sign({ height, round, step, signBytes });
    } catch (err) {
      if (isSynodError(err, 'SIGNER_DOUBLE_SIGN') || isSynodError(err, 'SIGNER_REGRESSION')) {
        this.metrics.signerRefusals.inc();
        this.log.error('signer refused to sign; not sending', { height, round, step, code: err.code });
        return undefined;
      }
      throw err;
    }
    await this.o.wal.append(encodeWalEntry({ kind: 'own-signature', step, height, round, signature }));
    this.ownSignatures.set(key, signature);
    return signature;
  }

  private async sendVote(e: Extract<Effect, { kind: 'broadcast-vote' }>): Promise<void> {
    const signer = this.o.signer;
    if (signer === null) return;
    const vote: Vote = {
      type: e.type,
      height: e.height,
      round: e.round,
      blockHash: e.valueId === null ? null : fromHex(e.valueId),
      validatorAddress: signer.address,
    };
    const signature = await this.persistAndSign(
      { kind: 'own-vote', vote },
      e.type,
      e.height,
      e.round,
      voteSignBytes(this.o.chainId, vote),
    );
    if (signature === undefined) return;
    const signed: SignedVote = { vote, signature };
    await this.o.network.broadcastVote(signed); // step 5: only now
    // Our vote counts once it is signed and sent: delivered back to the core.
    const self = this.core.state()?.selfIndex ?? -1;
    await this.execute(
      this.core.step({
        kind: 'vote',
        type: vote.type,
        height: vote.height,
        round: vote.round,
        valueId: e.valueId,
        validator: self,
        signed,
      }),
    );
  }

  private async sendProposal(e: Extract<Effect, { kind: 'broadcast-proposal' }>): Promise<void> {
    const signer = this.o.signer;
    if (signer === null) return;
    const known = this.blocks.get(e.valueId);
    if (known === undefined) throw new SynodError('INTERNAL', 'proposing a value whose block is unknown');
    const hash = fromHex(e.valueId);
    const inWal = this.ownProposals.get(`${e.height}/${e.round}`);
    const proposal: Proposal =
      inWal !== undefined && inWal.polRound === e.polRound && bytesEqual(inWal.blockHash, hash)
        ? inWal
        : {
            height: e.height,
            round: e.round,
            polRound: e.polRound,
            blockHash: hash,
            timestampMs: this.o.clock.now(),
            proposerAddress: signer.address,
          };
    const signature = await this.persistAndSign(
      { kind: 'own-proposal', proposal },
      'proposal',
      e.height,
      e.round,
      proposalSignBytes(this.o.chainId, proposal),
    );
    if (signature === undefined) return;
    const signed: SignedProposal = { proposal, signature };
    await this.o.network.broadcastProposal(signed, known.block); // step 5: only now
    // Our proposal counts once it is signed and sent: delivered back to the core.
    const self = this.core.state()?.selfIndex ?? -1;
    await this.execute(this.core.step(this.proposalInput(signed, self, null)));
  }

  private requestValue(height: number, round: number): void {
    const signer = this.o.signer;
    if (signer === null) return;
    const request = {
      height,
      round,
      proposerAddress: signer.address,
      lastCommit: this.lastCommitForBlock(),
      timeMs: this.o.clock.now(),
    };
    this.o.application.buildBlock(request).then(
      (block) =>
        this.enqueue(async () => {
          if (height !== this.height || block.header.height !== height) return;
          const id = toHex(blockHash(block));
          this.blocks.set(id, { block, valid: true });
          await this.feed(
            { kind: 'value', height, round, valueId: id },
            { kind: 'value', height, round, block },
          );
        }),
      (err: unknown) =>
        this.log.error('building a block failed', { height, round, error: (err as Error).message }),
    );
  }

  /**
   * The core lacks the block of a polka or commit quorum. One we already hold
   * with a verdict (e.g. it came with a proposal the core did not take) is
   * handed over at once; one whose validation is being retried arrives with the
   * retry; any other is fetched from the network until it arrives or the
   * height is decided.
   */
  private async onRequestBlock(valueId: ValueId): Promise<void> {
    if (this.delivered.has(valueId)) return;
    const known = this.blocks.get(valueId);
    if (known !== undefined) {
      // As its own input, after this one's effects (the WAL then holds the order the core saw).
      const height = this.height;
      void this.enqueue(async () => {
        if (height !== this.height || this.delivered.has(valueId)) return;
        await this.feed(
          { kind: 'block', height, valueId, valid: known.valid },
          { kind: 'block', block: known.block, valid: known.valid },
        );
      });
      return;
    }
    if (this.wanted.has(valueId)) return;
    this.wanted.add(valueId);
    if (!this.unvalidated.has(valueId)) this.fetchMissing(valueId, 0);
  }

  /**
   * Asks the network for a wanted block (the network port picks the peers);
   * when the fetch fails, finds nothing or brings something else, asks again
   * after `retryDelayMs(attempt)` — through the clock port, so at most one
   * fetch per wanted block is in flight and the attempts thin out to one per
   * RETRY_MAX_MS. Stops once the block is delivered, the height is decided or
   * the engine stops.
   */
  private fetchMissing(valueId: ValueId, attempt: number): void {
    const height = this.height;
    const again = (): void => {
      if (this.stopped || this.haltError !== undefined || height !== this.height) return;
      if (!this.wanted.has(valueId) || this.unvalidated.has(valueId)) return;
      this.setRetryTimer(retryDelayMs(attempt), () => this.fetchMissing(valueId, attempt + 1));
    };
    this.o.network.fetchBlock(fromHex(valueId)).then(
      (block) => {
        if (block === undefined) again();
        else void this.receiveBlock(block).then(again);
      },
      (err: unknown) => {
        this.log.debug('fetching a block failed', { error: (err as Error).message, attempt });
        again();
      },
    );
  }

  /** Step 6: save, finalize, end the height in the WAL, then start the next height after the commit timeout. */
  private async decide(e: Extract<Effect, { kind: 'decide' }>): Promise<void> {
    const known = this.blocks.get(e.valueId);
    if (known === undefined || !known.valid)
      throw new SynodError('INTERNAL', 'decided a block the engine does not hold');
    this.endHeightWork();
    const commit = this.toCommit(e.commit, this.set);
    if (this.o.blockStore.height() >= e.height) {
      throw new SynodError('INTERNAL', `height ${e.height} is already in the block store`);
    }
    await this.o.blockStore.saveBlock(known.block, commit);
    this.checkCommit(commit);
    if (this.alert !== undefined) return; // halted: the block is kept, nothing more is produced
    const result = await this.o.application.finalizeBlock(known.block, commit);
    // Not fsync'd on its own: the next height's first own record (synced before it is sent) makes
    // it durable, and a marker a crash took is written again by `replay` (the block and its state
    // are durable by now). One fsync less per height (7 → 6 per validator; the node's unsynced block
    // save, covered by its height's synced batch, makes it 5).
    await this.o.wal.writeEndHeight(e.height, { sync: false });
    this.metrics.committed.inc();
    this.log.info('committed block', { height: e.height, round: e.round, hash: e.valueId });
    const timeMs = known.block.header.timeMs;
    this.decided = { height: e.height, round: e.round, timeMs };
    const evidence = this.pendingEvidence;
    this.pendingEvidence = [];
    for (const make of evidence) await this.o.evidence?.report(make(timeMs));
    this.savedLastCommit = commit;
    this.next = { height: e.height + 1, set: result.nextValidatorSet };
    if (result.consensusParams !== undefined) this.params = result.consensusParams;
    if (this.o.haltHeight !== undefined && this.o.haltHeight > 0 && e.height >= this.o.haltHeight) {
      // A coordinated stop: the decided block is durable and finalized; no next height.
      this.log.info('halt height reached: no next height', { height: e.height });
      this.o.onHaltHeight?.(e.height);
      return;
    }
    this.commitTimer = this.setTimer(commitTimeoutMs(this.timeouts()), () => {
      this.commitTimer = undefined;
      void this.enqueue(() => this.startNextHeight());
    });
  }

  /** The chain's timeouts times this node's `timeoutScale`. */
  private timeouts(): ConsensusParams['timeouts'] {
    return scaleTimeouts(this.params.timeouts, this.timeoutScale);
  }

  private async startNextHeight(): Promise<void> {
    const next = this.next;
    if (next === undefined) return;
    this.next = undefined;
    this.lastSet = this.set;
    this.set = next.set;
    this.height = next.height;
    this.endHeightWork();
    this.blocks = new Map();
    this.delivered = new Set();
    this.proposalsSeen = new Map();
    this.proposedValues = new Set();
    this.ownIntents = new Map();
    this.ownProposals = new Map();
    this.ownSignatures = new Map();
    await this.execute(
      this.core.step({
        kind: 'start-height',
        height: this.height,
        validatorSet: this.set,
        timeouts: this.timeouts(),
      }),
    );
    const buffered = this.future;
    this.future = [];
    this.futureCounts = new Map();
    this.futureSeen = new Set();
    // Every check again, against this height's set (the signature only when the key differs).
    for (const m of buffered) {
      if (m.kind === 'vote') await this.onVote(m.vote, m.verifiedKey);
      else await this.onProposal(m.proposal, m.block, m.verifiedKey);
    }
  }

  /** The commit the proposer puts in its block: the last height's, with the precommits that arrived late. */
  private lastCommitForBlock(): Commit {
    const late = this.core.lastCommit();
    if (late !== undefined && this.lastSet !== undefined && late.height === this.savedLastCommit.height) {
      return this.toCommit(late, this.lastSet);
    }
    return this.savedLastCommit;
  }

  private toCommit(votes: CommitVotes<EngineSignedMessage>, set: ValidatorSet): Commit {
    const signatures: CommitSig[] = set.validators.map((_, i) => {
      const p = votes.precommits[i];
      const absent: CommitSig = { flag: 'absent', signature: ZERO_SIGNATURE };
      if (p === undefined) return absent;
      // A precommit for another block does not belong in this commit.
      if (p.valueId !== null && p.valueId !== votes.valueId) return absent;
      if (!isSignedVote(p.signed)) return absent;
      return { flag: p.valueId === null ? 'nil' : 'commit', signature: p.signed.signature };
    });
    return { height: votes.height, round: votes.round, blockHash: fromHex(votes.valueId), signatures };
  }

  private async noteEvidence(
    e: Extract<Effect, { kind: 'duplicate-vote' | 'double-proposal' }>,
  ): Promise<void> {
    const validator = this.set.validators[e.validator];
    if (validator === undefined) return;
    const validatorPower = validator.votingPower;
    const total = totalVotingPower(this.set);
    this.metrics.equivocations.inc({ kind: e.kind });
    this.log.warn('equivocation detected', {
      event: e.kind === 'duplicate-vote' ? 'equivocation' : 'double_proposal',
      kind: e.kind,
      height: e.height,
      round: e.round,
      validator: e.validator,
    });
    const { first, second } = e;
    let make: ((timeMs: number) => Evidence) | undefined;
    if (e.kind === 'duplicate-vote' && isSignedVote(first) && isSignedVote(second)) {
      make = (timeMs) =>
        canonicalEvidence({
          kind: 'duplicate-vote',
          voteA: first,
          voteB: second,
          validatorPower,
          totalVotingPower: total,
          timeMs,
        });
    } else if (e.kind === 'double-proposal' && !isSignedVote(first) && !isSignedVote(second)) {
      make = (timeMs) =>
        canonicalEvidence({
          kind: 'double-proposal',
          proposalA: first,
          proposalB: second,
          validatorPower,
          totalVotingPower: total,
          timeMs,
        });
    }
    if (make === undefined) return;
    // Seen after its height was decided (late votes still reach the decided height): its block
    // time is known, report now. Otherwise it waits for the decision (step 6).
    if (this.decided?.height === e.height) await this.o.evidence?.report(make(this.decided.timeMs));
    else this.pendingEvidence.push(make);
  }
}
