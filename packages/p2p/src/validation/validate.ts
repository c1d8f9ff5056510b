/**
 * Gossip validation: one function per topic. Each decodes (bounded), checks,
 * and returns the decoded message or throws a GossipValidationError carrying
 * its action. Rules are labelled with their action, cheapest checks first,
 * signatures last.
 */
import { type VerifyItem, verify } from '@synod/crypto';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  decodeBlock,
  decodeEvidence,
  decodeSignedVote,
  decodeTx,
  type Evidence,
  type EvidenceChainView,
  evidenceHeight,
  evidenceStructureProblem,
  evidenceTimeProblem,
  evidenceValidator,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type Tx,
  totalVotingPower,
  txSignBytes,
  type ValidatorSet,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';
import { type ProposalEnvelope, readProposalEnvelope } from '../codec/proposal-message.js';
import { decodeTxBatch, TxBatchDecodeError } from '../codec/tx-batch.js';
import { type MessageLimits, proposalBytesMax } from '../limits.js';
import type { GossipTopic } from '../topics.js';
import { type GossipAction, ignore, reject } from './gossip-error.js';
import type { ProposalTracker } from './proposal-tracker.js';

/** The verdict of the application's optional transaction precheck. */
export type TxPrecheckVerdict = GossipAction;

/**
 * What validation needs to know about the chain, supplied by the node. Read
 * on every message: keep these calls cheap (in-memory).
 */
export interface ValidationContext {
  readonly chainId: string;
  /** The height consensus is deciding (last committed height + 1). */
  currentHeight(): number;
  /** The validator set deciding `height`, or undefined when this node does not know it. */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /**
   * Index, in `validatorSetAt(height)`, of the proposer of (height, round)
   * (the consensus engine's proposer schedule), or undefined when unknown.
   * Called only for a proposal whose signature by that validator set already
   * verified and whose round is within the window, so a far round can only be
   * asked for by a validator's own valid signature. Cache the schedule per
   * height: computing round r costs O(r × validators) once.
   */
  proposerIndex(height: number, round: number): number | undefined;
  /**
   * The round consensus is in at `currentHeight()`: the round window starts
   * there (for every height of the height window). @default 0
   */
  currentRound?(): number;
  /**
   * The committed chain as evidence verification sees it (last committed
   * height and block time, consensus params, block time of a committed
   * height): evidence is judged by the same height and time rules as
   * @synod/fault-detector's verification (`evidenceTimeProblem`, whose age
   * rule is `isEvidenceExpired`: blocks AND time). Without it, evidence is
   * IGNOREd: it cannot be judged.
   */
  evidenceChain?(): EvidenceChainView | undefined;
  /**
   * Optional application-level check of a transaction that passed decoding,
   * chain id and signature (e.g. the mempool's CheckTx). 'IGNORE' drops it
   * without blame (nonce gap, fee too low), 'REJECT' penalises the sender.
   */
  txPrecheck?(tx: Tx, bytes: Uint8Array): TxPrecheckVerdict | Promise<TxPrecheckVerdict>;
  /**
   * The Ed25519 check of every signature (votes, proposals, evidence, txs).
   * Pass the node's one verifier with a memory of accepted signatures
   * (@synod/crypto's `createVerifyCache`) — the same the consensus engine
   * gets — so a message is verified once per node, not once per layer.
   * @default @synod/crypto's `verify`
   */
  readonly verifySignature?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /**
   * The same check for many signatures at once, answered later (e.g. the
   * node's verifier's `verifyMany` over a pool of worker threads): a
   * transaction batch's signatures are checked with it, off the event loop,
   * when it is set. Its answers must be `verifySignature`'s, except that
   * after a rejected signature it may answer false for the rest unchecked
   * (the batch is refused at any false; e.g. @synod/crypto's
   * `stopAtFirstFailure`, so a batch of forged signatures costs one
   * rejection's check, as on the synchronous path).
   */
  readonly verifySignatures?: (items: readonly VerifyItem[]) => Promise<readonly boolean[]>;
}

/** Which heights and rounds of votes and proposals are worth handling and forwarding. */
export interface HeightWindow {
  /** Heights below the current one still accepted (late precommits complete the last commit). @default 1 */
  readonly behind: number;
  /** Heights above the current one accepted (a node catching up to a round ahead). @default 2 */
  readonly ahead: number;
  /**
   * Rounds above the current round (`ValidationContext.currentRound`, else 0)
   * accepted for votes and proposals. Equal to @synod/consensus's
   * ROUND_LOOKAHEAD_MAX: the engine drops anything further, so forwarding it
   * would only serve a flood. @default 10000
   */
  readonly roundsAhead: number;
}

export const DEFAULT_HEIGHT_WINDOW: HeightWindow = Object.freeze({
  behind: 1,
  ahead: 2,
  roundsAhead: 10_000,
});

export interface ValidatedProposal {
  readonly signedProposal: SignedProposal;
  readonly block: Block;
  /** blockHash(block), equal to signedProposal.proposal.blockHash. */
  readonly blockHash: Uint8Array;
  /**
   * True for a second, different proposal of the round's proposer for the
   * same (height, round): double-proposal evidence. It is delivered (consensus
   * learns its block and reports the equivocation) but not forwarded.
   */
  readonly conflicting: boolean;
}

export interface ValidatedTx {
  readonly tx: Tx;
  /** The transaction's bytes as received (what blocks carry). */
  readonly bytes: Uint8Array;
}

/**
 * A validated transaction batch (the `txs` topic): the transactions this
 * node admits, in batch order. Every transaction of the batch passed
 * decoding, chain id and signature (otherwise the whole batch is REJECTed);
 * `rejected` and `ignored` count those the application precheck refused.
 * A batch with a precheck REJECT is delivered (its admitted transactions)
 * but not forwarded, and costs the sender a reject.
 */
export interface ValidatedTxBatch {
  readonly txs: readonly ValidatedTx[];
  /** Transactions the application precheck REJECTed. */
  readonly rejected: number;
  /** Transactions the application precheck IGNOREd. */
  readonly ignored: number;
}

/** The decoded, validated message of each topic. */
export interface ValidatedMessages {
  readonly proposals: ValidatedProposal;
  readonly votes: SignedVote;
  readonly evidence: Evidence;
  readonly txs: ValidatedTxBatch;
}

export interface ValidationParams {
  readonly ctx: ValidationContext;
  readonly limits: MessageLimits;
  readonly window: HeightWindow;
  /**
   * Proposals accepted so far per (height, round). With it, only the first
   * proposal of a (height, round) is forwarded, one conflicting one is
   * delivered without forwarding, and later ones are ignored. The network
   * always passes one.
   */
  readonly proposals?: ProposalTracker;
}

/** Why a message is outside the window of heights or rounds worth handling (an IGNORE), or undefined. */
export interface WindowProblem {
  readonly reason: 'HEIGHT_TOO_OLD' | 'HEIGHT_TOO_FAR' | 'ROUND_TOO_FAR';
  readonly message: string;
}

function heightProblem(height: number, p: ValidationParams): WindowProblem | undefined {
  const current = p.ctx.currentHeight();
  // [IGNORE] too old: consensus has moved on, the message is useless but not invalid
  if (height < current - p.window.behind)
    return { reason: 'HEIGHT_TOO_OLD', message: `height ${height} < ${current} - ${p.window.behind}` };
  // [IGNORE] too far ahead: we cannot check it against a validator set yet
  if (height > current + p.window.ahead)
    return { reason: 'HEIGHT_TOO_FAR', message: `height ${height} > ${current} + ${p.window.ahead}` };
  return undefined;
}

function roundProblem(round: number, p: ValidationParams): WindowProblem | undefined {
  const current = p.ctx.currentRound?.() ?? 0;
  // [IGNORE] too many rounds ahead: consensus would drop it (ROUND_LOOKAHEAD_MAX), so it is not forwarded
  if (round > current + p.window.roundsAhead)
    return { reason: 'ROUND_TOO_FAR', message: `round ${round} > ${current} + ${p.window.roundsAhead}` };
  return undefined;
}

function checkWindow(kind: 'vote' | 'proposal', height: number, round: number, p: ValidationParams): void {
  const problem = heightProblem(height, p) ?? roundProblem(round, p);
  if (problem !== undefined) ignore(kind, problem.reason, problem.message);
}

/**
 * The first checks of `validateVote` and `validateProposal` alone: a vote or
 * proposal outside the height window or the round look-ahead (IGNORE, no
 * blame). The network runs this before gossipsub sees a message, so a flood
 * of such messages costs no seen-cache entry, score record or message-cache
 * slot (gossipsub keeps the first two for two minutes), and no queue slot:
 * it is dropped where it is decoded. Undefined for anything else (including
 * what does not decode: full validation REJECTs that, with blame).
 */
export function screenGossipMessage(
  topic: GossipTopic,
  data: Uint8Array,
  p: ValidationParams,
): WindowProblem | undefined {
  try {
    if (topic === 'votes') {
      if (data.length > p.limits.voteBytesMax) return undefined;
      const { height, round } = decodeSignedVote(data).vote;
      return heightProblem(height, p) ?? roundProblem(round, p);
    }
    if (topic === 'proposals') {
      if (data.length > proposalBytesMax(p.limits)) return undefined;
      const { height, round } = readProposalEnvelope(data).signedProposal.proposal;
      return heightProblem(height, p) ?? roundProblem(round, p);
    }
  } catch {
    // does not decode: validation rejects it
  }
  return undefined;
}

function setAt(kind: 'vote' | 'proposal' | 'evidence', height: number, p: ValidationParams): ValidatorSet {
  const set = p.ctx.validatorSetAt(height);
  // [IGNORE] validator set unknown: cannot tell valid from invalid
  if (set === undefined) ignore(kind, 'VALIDATOR_SET_UNKNOWN', `no validator set for height ${height}`);
  return set;
}

export function validateVote(data: Uint8Array, p: ValidationParams): SignedVote {
  // [REJECT] larger than any vote
  if (data.length > p.limits.voteBytesMax)
    reject('vote', 'MESSAGE_TOO_LARGE', `vote of ${data.length} bytes`);
  let sv: SignedVote;
  try {
    sv = decodeSignedVote(data);
  } catch (err) {
    // [REJECT] not a SignedVote
    return reject('vote', 'DECODE_FAILED', 'vote does not decode', err);
  }
  const vote = sv.vote;
  checkWindow('vote', vote.height, vote.round, p);
  const set = setAt('vote', vote.height, p);
  const index = validatorIndex(set, vote.validatorAddress);
  // [REJECT] the signer is not a validator at that height
  if (index < 0) reject('vote', 'UNKNOWN_VALIDATOR', `vote from a non-validator at height ${vote.height}`);
  const validator = set.validators[index];
  // [REJECT] signature does not verify under the validator's key
  if (
    validator === undefined ||
    !verifier(p)(validator.pubKey, voteSignBytes(p.ctx.chainId, vote), sv.signature)
  ) {
    reject('vote', 'INVALID_SIGNATURE', `invalid vote signature at height ${vote.height}`);
  }
  return sv;
}

/**
 * Cheap checks first: the signed proposal (~190 bytes at the head of the
 * message) is read and checked — height window, round window, signer in the
 * validator set, signature, proposer of (height, round), first of its round —
 * before the block (up to block.maxBytes) is decoded, hashed and checked.
 */
export function validateProposal(data: Uint8Array, p: ValidationParams): ValidatedProposal {
  // [REJECT] larger than a block allows
  if (data.length > proposalBytesMax(p.limits))
    reject('proposal', 'MESSAGE_TOO_LARGE', `proposal of ${data.length} bytes`);
  let envelope: ProposalEnvelope;
  try {
    envelope = readProposalEnvelope(data);
  } catch (err) {
    // [REJECT] not a proposal envelope, or the signed proposal does not decode
    return reject('proposal', 'DECODE_FAILED', 'proposal does not decode', err);
  }
  const { signedProposal } = envelope;
  const proposal = signedProposal.proposal;
  checkWindow('proposal', proposal.height, proposal.round, p);
  const set = setAt('proposal', proposal.height, p);
  const index = validatorIndex(set, proposal.proposerAddress);
  // [REJECT] the proposer is not a validator at that height
  if (index < 0)
    reject('proposal', 'UNKNOWN_VALIDATOR', `proposal from a non-validator at height ${proposal.height}`);
  const proposer = set.validators[index];
  const signBytes = proposalSignBytes(p.ctx.chainId, proposal);
  // [REJECT] signature does not verify under the proposer's key (the sign bytes carry the chain id)
  if (proposer === undefined || !verifier(p)(proposer.pubKey, signBytes, signedProposal.signature)) {
    reject('proposal', 'INVALID_SIGNATURE', `invalid proposal signature at height ${proposal.height}`);
  }
  // only now (a validator's valid signature, a round within the window) the proposer schedule
  const expected = p.ctx.proposerIndex(proposal.height, proposal.round);
  // [IGNORE] the proposer of that round is unknown here
  if (expected === undefined)
    ignore('proposal', 'VALIDATOR_SET_UNKNOWN', `no proposer known for height ${proposal.height}`);
  // [REJECT] signed by a validator that is not the proposer of (height, round)
  if (expected !== index) {
    reject(
      'proposal',
      'WRONG_PROPOSER',
      `proposal for height ${proposal.height} round ${proposal.round} not by the round's proposer`,
    );
  }
  const sighting = p.proposals?.sighting(proposal.height, proposal.round, signBytes) ?? 'first';
  // [IGNORE] this proposal was accepted already (e.g. signed again: a new signature, same content)
  if (sighting === 'same') ignore('proposal', 'DUPLICATE_PROPOSAL', 'proposal already accepted');
  // [IGNORE] two different proposals of this round were already seen: the equivocation is known
  if (sighting === 'exhausted')
    ignore('proposal', 'DOUBLE_PROPOSAL', 'a third proposal for the same height and round');
  let block: Block;
  try {
    block = decodeBlock(envelope.blockBytes, p.limits.blockBytesMax);
  } catch (err) {
    // [REJECT] the block does not decode
    return reject('proposal', 'DECODE_FAILED', 'proposal block does not decode', err);
  }
  // [REJECT] a block of another chain
  if (block.header.chainId !== p.ctx.chainId) reject('proposal', 'WRONG_CHAIN', 'block of another chain');
  // [REJECT] the block is not at the proposal's height
  if (block.header.height !== proposal.height) {
    reject(
      'proposal',
      'BLOCK_HEIGHT_MISMATCH',
      `block height ${block.header.height} != proposal height ${proposal.height}`,
    );
  }
  const hash = blockHash(block);
  // [REJECT] the proposal is not for this block
  if (!bytesEqual(hash, proposal.blockHash))
    reject('proposal', 'BLOCK_HASH_MISMATCH', 'proposal.blockHash != blockHash(block)');
  const problem = blockDataProblem(block);
  // [REJECT] the header does not commit to the block's contents
  if (problem !== undefined) reject('proposal', 'BLOCK_DATA_INVALID', problem);
  // [REJECT] a fresh proposal (no POL round) of a block credited to another validator: the
  // proposer builds a fresh block itself (an honest proposer re-proposing another's block always
  // has a POL round, L16), so this one would hand the block's proposer rewards to someone else
  if (proposal.polRound === -1 && !bytesEqual(block.header.proposerAddress, proposal.proposerAddress)) {
    reject(
      'proposal',
      'BLOCK_PROPOSER_MISMATCH',
      'a proposal without a POL round carries a block of another proposer',
    );
  }
  let conflicting = false;
  if (p.proposals !== undefined) {
    p.proposals.prune(p.ctx.currentHeight() - p.window.behind);
    conflicting = p.proposals.record(proposal.height, proposal.round, signBytes) === 'conflicting';
  }
  return { signedProposal, block, blockHash: hash, conflicting };
}

export function validateEvidence(data: Uint8Array, p: ValidationParams): Evidence {
  // [REJECT] larger than any evidence
  if (data.length > p.limits.evidenceBytesMax)
    reject('evidence', 'MESSAGE_TOO_LARGE', `evidence of ${data.length} bytes`);
  let ev: Evidence;
  try {
    ev = decodeEvidence(data);
  } catch (err) {
    // [REJECT] not evidence
    return reject('evidence', 'DECODE_FAILED', 'evidence does not decode', err);
  }
  const structure = evidenceStructureProblem(ev);
  // [REJECT] not a conflict (same block, different validators or heights), or
  // not in canonical order (A before B): one equivocation is one message
  if (structure !== undefined) reject('evidence', 'EVIDENCE_MALFORMED', structure);
  const height = evidenceHeight(ev);
  const chain = p.ctx.evidenceChain?.();
  // [IGNORE] no view of the committed chain: cannot be judged
  if (chain === undefined)
    ignore('evidence', 'VALIDATOR_SET_UNKNOWN', 'no committed chain to judge evidence');
  const time = evidenceTimeProblem(ev, chain);
  // [IGNORE] from a height not committed yet: cannot be checked yet
  if (time?.code === 'FROM_FUTURE') ignore('evidence', 'EVIDENCE_FROM_FUTURE', time.reason);
  // [IGNORE] too old to be punished (older than maxAgeBlocks AND maxAgeDurationMs)
  if (time?.code === 'EXPIRED') ignore('evidence', 'EVIDENCE_EXPIRED', time.reason);
  // [IGNORE] the block time of that height is unknown (pruned)
  if (time?.code === 'UNKNOWN_HEIGHT') ignore('evidence', 'VALIDATOR_SET_UNKNOWN', time.reason);
  // [REJECT] the recorded time is after our last block, or not the block time of its height
  if (time !== undefined) reject('evidence', 'EVIDENCE_WRONG_TIME', time.reason);
  const set = setAt('evidence', height, p);
  const index = validatorIndex(set, evidenceValidator(ev));
  // [REJECT] the accused is not a validator at that height
  if (index < 0)
    reject('evidence', 'UNKNOWN_VALIDATOR', `evidence against a non-validator at height ${height}`);
  const validator = set.validators[index];
  // [REJECT] the recorded power is not the validator's at that height
  if (
    validator === undefined ||
    validator.votingPower !== ev.validatorPower ||
    totalVotingPower(set) !== ev.totalVotingPower
  ) {
    reject('evidence', 'EVIDENCE_WRONG_POWER', 'evidence power does not match the validator set');
  }
  const chainId = p.ctx.chainId;
  const verify = verifier(p);
  const ok =
    ev.kind === 'duplicate-vote'
      ? verify(validator.pubKey, voteSignBytes(chainId, ev.voteA.vote), ev.voteA.signature) &&
        verify(validator.pubKey, voteSignBytes(chainId, ev.voteB.vote), ev.voteB.signature)
      : verify(validator.pubKey, proposalSignBytes(chainId, ev.proposalA.proposal), ev.proposalA.signature) &&
        verify(validator.pubKey, proposalSignBytes(chainId, ev.proposalB.proposal), ev.proposalB.signature);
  // [REJECT] one of the conflicting messages is not signed by the accused
  if (!ok) reject('evidence', 'INVALID_SIGNATURE', `invalid signature in evidence at height ${height}`);
  return ev;
}

/** The context's signature check, or @synod/crypto's. */
function verifier(
  p: ValidationParams,
): (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean {
  return p.ctx.verifySignature ?? verify;
}

/**
 * The stateless checks of one transaction (of a batch): size, decoding,
 * chain id, signature. The same for every correct node, so a failure is
 * provable (REJECT).
 */
export function decodeAndCheckTx(data: Uint8Array, p: ValidationParams): Tx {
  const tx = decodeTxForChain(data, p);
  // [REJECT] signature does not verify under the sender's key
  if (!verifier(p)(tx.body.sender, txSignBytes(p.ctx.chainId, tx.body), tx.signature)) invalidTxSignature();
  return tx;
}

/** `decodeAndCheckTx` before the signature: size, decoding, chain id. */
function decodeTxForChain(data: Uint8Array, p: ValidationParams): Tx {
  // [REJECT] larger than a transaction may be
  if (data.length > p.limits.txBytesMax) reject('tx', 'MESSAGE_TOO_LARGE', `tx of ${data.length} bytes`);
  let tx: Tx;
  try {
    tx = decodeTx(data, p.limits.txBytesMax);
  } catch (err) {
    // [REJECT] not a transaction
    return reject('tx', 'DECODE_FAILED', 'tx does not decode', err);
  }
  // [REJECT] signed for another chain
  if (tx.body.chainId !== p.ctx.chainId) reject('tx', 'WRONG_CHAIN', 'tx of another chain');
  return tx;
}

function invalidTxSignature(): never {
  return reject('tx', 'INVALID_SIGNATURE', 'invalid tx signature');
}

/**
 * `items.map(decodeAndCheckTx)` with the signatures checked together by
 * `ctx.verifySignatures` (off the event loop): the same verdict, the first
 * failing transaction's rule. When a transaction fails before its signature
 * (size, decoding, chain id), the batch takes the synchronous path, so the
 * rules still apply in the same order.
 */
function decodeAndCheckTxs(
  items: readonly Uint8Array[],
  p: ValidationParams,
  verifyMany: NonNullable<ValidationContext['verifySignatures']>,
): Promise<Tx[]> | Tx[] {
  const txs: Tx[] = [];
  for (const item of items) {
    try {
      txs.push(decodeTxForChain(item, p));
    } catch {
      return items.map((it) => decodeAndCheckTx(it, p));
    }
  }
  const chainId = p.ctx.chainId;
  const checks = txs.map((tx) => ({
    publicKey: tx.body.sender,
    message: txSignBytes(chainId, tx.body),
    signature: tx.signature,
  }));
  return verifyMany(checks).then((answers) => {
    // [REJECT] (the first failing one) signature does not verify under the sender's key
    if (answers.length !== txs.length || !answers.every((ok) => ok === true)) invalidTxSignature();
    return txs;
  });
}

function precheckVerdict(verdict: TxPrecheckVerdict, tx: Tx, bytes: Uint8Array): ValidatedTx {
  // [REJECT] the application says it can never be valid
  if (verdict === 'REJECT') reject('tx', 'TX_REJECTED', 'tx rejected by the application precheck');
  // [IGNORE] the application does not want it now (nonce gap, low fee, full mempool)
  if (verdict === 'IGNORE') ignore('tx', 'TX_IGNORED', 'tx ignored by the application precheck');
  return { tx, bytes };
}

/**
 * One transaction's rule: the stateless checks, then the application
 * precheck. A batch applies it to each of its transactions
 * (`validateTxBatch`).
 */
export function validateTx(data: Uint8Array, p: ValidationParams): ValidatedTx | Promise<ValidatedTx> {
  const tx = decodeAndCheckTx(data, p);
  const hook = p.ctx.txPrecheck;
  if (hook === undefined) return { tx, bytes: data };
  const verdict = hook.call(p.ctx, tx, data);
  return typeof verdict === 'string'
    ? precheckVerdict(verdict, tx, data)
    : verdict.then((v) => precheckVerdict(v, tx, data));
}

function batchVerdict(
  txs: readonly Tx[],
  items: readonly Uint8Array[],
  verdicts: readonly TxPrecheckVerdict[],
): ValidatedTxBatch {
  const admitted: ValidatedTx[] = [];
  let rejected = 0;
  let ignored = 0;
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i];
    if (v === 'ACCEPT') admitted.push({ tx: txs[i] as Tx, bytes: items[i] as Uint8Array });
    else if (v === 'REJECT') rejected++;
    else ignored++;
  }
  if (admitted.length === 0) {
    // [REJECT] the application says none of them can ever be valid (at least one it rejects)
    if (rejected > 0)
      reject(
        'tx',
        'TX_REJECTED',
        `${rejected} of ${verdicts.length} txs rejected by the application precheck`,
      );
    // [IGNORE] the application wants none of them now
    ignore('tx', 'TX_IGNORED', `${ignored} txs ignored by the application precheck`);
  }
  return { txs: admitted, rejected, ignored };
}

/**
 * A transaction batch (the `txs` topic, codec/tx-batch.ts): the bounds and
 * framing first (bytes, count, each length, no repeats), then every
 * transaction's stateless checks in order (`decodeAndCheckTx`; the first
 * failure REJECTs the whole batch with its reason and nothing is admitted: a
 * correct node batches only transactions its mempool admitted and forwards
 * only batches it validated, so only a faulty peer sends such a batch), then
 * the application precheck of each (`txPrecheck`): what it ACCEPTs is
 * admitted; a batch it REJECTs some of is delivered (the admitted ones) but
 * not forwarded and costs the sender (TX_REJECTED); a batch with nothing
 * admitted is REJECTed (some rejected) or IGNOREd (all ignored).
 */
export function validateTxBatch(
  data: Uint8Array,
  p: ValidationParams,
): ValidatedTxBatch | Promise<ValidatedTxBatch> {
  // [REJECT] larger than a batch may be
  if (data.length > p.limits.txBatchBytesMax)
    reject('tx', 'MESSAGE_TOO_LARGE', `tx batch of ${data.length} bytes`);
  let items: Uint8Array[];
  try {
    items = decodeTxBatch(data, p.limits);
  } catch (err) {
    // [REJECT] more transactions than a batch may hold
    if (err instanceof TxBatchDecodeError && err.problem === 'too-large')
      return reject('tx', 'MESSAGE_TOO_LARGE', err.message);
    // [REJECT] not a batch: bad framing, or a transaction repeated
    return reject('tx', 'DECODE_FAILED', 'tx batch does not decode', err);
  }
  // [REJECT] (each rule of decodeAndCheckTx) one bad transaction rejects the batch
  const verifyMany = p.ctx.verifySignatures;
  if (verifyMany === undefined)
    return precheckBatch(
      items.map((item) => decodeAndCheckTx(item, p)),
      items,
      p,
    );
  const txs = decodeAndCheckTxs(items, p, verifyMany);
  return Array.isArray(txs) ? precheckBatch(txs, items, p) : txs.then((ok) => precheckBatch(ok, items, p));
}

/** A batch's application precheck (`txPrecheck`), its transactions' stateless checks passed. */
function precheckBatch(
  txs: readonly Tx[],
  items: readonly Uint8Array[],
  p: ValidationParams,
): ValidatedTxBatch | Promise<ValidatedTxBatch> {
  const hook = p.ctx.txPrecheck;
  if (hook === undefined)
    return { txs: txs.map((tx, i) => ({ tx, bytes: items[i] as Uint8Array })), rejected: 0, ignored: 0 };
  const verdicts = txs.map((tx, i) => hook.call(p.ctx, tx, items[i] as Uint8Array));
  if (verdicts.every((v): v is TxPrecheckVerdict => typeof v === 'string'))
    return batchVerdict(txs, items, verdicts);
  return Promise.all(verdicts).then((vs) => batchVerdict(txs, items, vs));
}

/**
 * Validates one gossip message of `topic`. Returns the decoded message (or a
 * promise of it, for transactions with an asynchronous precheck) or throws a
 * GossipValidationError.
 */
export function validateGossipMessage<T extends GossipTopic>(
  topic: T,
  data: Uint8Array,
  p: ValidationParams,
): ValidatedMessages[T] | Promise<ValidatedMessages[T]>;
export function validateGossipMessage(
  topic: GossipTopic,
  data: Uint8Array,
  p: ValidationParams,
): ValidatedMessages[GossipTopic] | Promise<ValidatedMessages[GossipTopic]> {
  switch (topic) {
    case 'votes':
      return validateVote(data, p);
    case 'proposals':
      return validateProposal(data, p);
    case 'evidence':
      return validateEvidence(data, p);
    case 'txs':
      return validateTxBatch(data, p);
  }
}
