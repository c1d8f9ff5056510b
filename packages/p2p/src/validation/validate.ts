/**
 * Gossip validation: one function per topic. Each decodes (bounded), checks,
 * and returns the decoded message or throws a GossipValidationError carrying
 * its action. Rules are labelled with their action, cheapest checks first,
 * signatures last.
 */
import { verify } from '@synod/crypto';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  decodeEvidence,
  decodeSignedVote,
  decodeTx,
  type Evidence,
  evidenceHeight,
  evidenceStructureProblem,
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
import { decodeProposalMessage } from '../codec/proposal-message.js';
import { type MessageLimits, proposalBytesMax } from '../limits.js';
import type { GossipTopic } from '../topics.js';
import { type GossipAction, ignore, reject } from './gossip-error.js';

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
   * Optional application-level check of a transaction that passed decoding,
   * chain id and signature (e.g. the mempool's CheckTx). 'IGNORE' drops it
   * without blame (nonce gap, fee too low), 'REJECT' penalises the sender.
   */
  txPrecheck?(tx: Tx, bytes: Uint8Array): TxPrecheckVerdict | Promise<TxPrecheckVerdict>;
}

/** Which heights of votes and proposals are worth handling and forwarding. */
export interface HeightWindow {
  /** Heights below the current one still accepted (late precommits complete the last commit). @default 1 */
  readonly behind: number;
  /** Heights above the current one accepted (a node catching up to a round ahead). @default 2 */
  readonly ahead: number;
  /** Evidence older than this many heights below the current one is ignored. @default 100000 */
  readonly evidenceAgeMax: number;
}

export const DEFAULT_HEIGHT_WINDOW: HeightWindow = Object.freeze({
  behind: 1,
  ahead: 2,
  evidenceAgeMax: 100_000,
});

export interface ValidatedProposal {
  readonly signedProposal: SignedProposal;
  readonly block: Block;
  /** blockHash(block), equal to signedProposal.proposal.blockHash. */
  readonly blockHash: Uint8Array;
}

export interface ValidatedTx {
  readonly tx: Tx;
  /** The transaction's bytes as received (what blocks carry). */
  readonly bytes: Uint8Array;
}

/** The decoded, validated message of each topic. */
export interface ValidatedMessages {
  readonly proposals: ValidatedProposal;
  readonly votes: SignedVote;
  readonly evidence: Evidence;
  readonly txs: ValidatedTx;
}

export interface ValidationParams {
  readonly ctx: ValidationContext;
  readonly limits: MessageLimits;
  readonly window: HeightWindow;
}

function checkWindow(kind: 'vote' | 'proposal', height: number, p: ValidationParams): void {
  const current = p.ctx.currentHeight();
  // [IGNORE] too old: consensus has moved on, the message is useless but not invalid
  if (height < current - p.window.behind)
    ignore(kind, 'HEIGHT_TOO_OLD', `height ${height} < ${current} - ${p.window.behind}`);
  // [IGNORE] too far ahead: we cannot check it against a validator set yet
  if (height > current + p.window.ahead)
    ignore(kind, 'HEIGHT_TOO_FAR', `height ${height} > ${current} + ${p.window.ahead}`);
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
  checkWindow('vote', vote.height, p);
  const set = setAt('vote', vote.height, p);
  const index = validatorIndex(set, vote.validatorAddress);
  // [REJECT] the signer is not a validator at that height
  if (index < 0) reject('vote', 'UNKNOWN_VALIDATOR', `vote from a non-validator at height ${vote.height}`);
  const validator = set.validators[index];
  // [REJECT] signature does not verify under the validator's key
  if (
    validator === undefined ||
    !verify(validator.pubKey, voteSignBytes(p.ctx.chainId, vote), sv.signature)
  ) {
    reject('vote', 'INVALID_SIGNATURE', `invalid vote signature at height ${vote.height}`);
  }
  return sv;
}

export function validateProposal(data: Uint8Array, p: ValidationParams): ValidatedProposal {
  // [REJECT] larger than a block allows
  if (data.length > proposalBytesMax(p.limits))
    reject('proposal', 'MESSAGE_TOO_LARGE', `proposal of ${data.length} bytes`);
  let msg: ReturnType<typeof decodeProposalMessage>;
  try {
    msg = decodeProposalMessage(data, p.limits.blockBytesMax);
  } catch (err) {
    // [REJECT] not a proposal envelope, or the block does not decode
    return reject('proposal', 'DECODE_FAILED', 'proposal does not decode', err);
  }
  const { signedProposal, block } = msg;
  const proposal = signedProposal.proposal;
  // [REJECT] a block of another chain
  if (block.header.chainId !== p.ctx.chainId) reject('proposal', 'WRONG_CHAIN', 'block of another chain');
  checkWindow('proposal', proposal.height, p);
  // [REJECT] the block is not at the proposal's height
  if (block.header.height !== proposal.height) {
    reject(
      'proposal',
      'BLOCK_HEIGHT_MISMATCH',
      `block height ${block.header.height} != proposal height ${proposal.height}`,
    );
  }
  const set = setAt('proposal', proposal.height, p);
  const index = validatorIndex(set, proposal.proposerAddress);
  // [REJECT] the proposer is not a validator at that height
  if (index < 0)
    reject('proposal', 'UNKNOWN_VALIDATOR', `proposal from a non-validator at height ${proposal.height}`);
  const hash = blockHash(block);
  // [REJECT] the proposal is not for this block
  if (!bytesEqual(hash, proposal.blockHash))
    reject('proposal', 'BLOCK_HASH_MISMATCH', 'proposal.blockHash != blockHash(block)');
  const problem = blockDataProblem(block);
  // [REJECT] the header does not commit to the block's contents
  if (problem !== undefined) reject('proposal', 'BLOCK_DATA_INVALID', problem);
  const proposer = set.validators[index];
  // [REJECT] signature does not verify under the proposer's key
  if (
    proposer === undefined ||
    !verify(proposer.pubKey, proposalSignBytes(p.ctx.chainId, proposal), signedProposal.signature)
  ) {
    reject('proposal', 'INVALID_SIGNATURE', `invalid proposal signature at height ${proposal.height}`);
  }
  return { signedProposal, block, blockHash: hash };
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
  // [REJECT] not a conflict (same block, different validators or heights)
  if (structure !== undefined) reject('evidence', 'EVIDENCE_MALFORMED', structure);
  const height = evidenceHeight(ev);
  const current = p.ctx.currentHeight();
  // [IGNORE] from a height we have not reached: cannot be checked yet
  if (height > current) ignore('evidence', 'EVIDENCE_FROM_FUTURE', `evidence height ${height} > ${current}`);
  // [IGNORE] too old to be punished
  if (height < current - p.window.evidenceAgeMax)
    ignore('evidence', 'EVIDENCE_EXPIRED', `evidence height ${height} too old`);
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

/** The synchronous part of transaction validation (everything but the application precheck). */
export function decodeAndCheckTx(data: Uint8Array, p: ValidationParams): Tx {
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
  // [REJECT] signature does not verify under the sender's key
  if (!verify(tx.body.sender, txSignBytes(p.ctx.chainId, tx.body), tx.signature)) {
    reject('tx', 'INVALID_SIGNATURE', 'invalid tx signature');
  }
  return tx;
}

function precheckVerdict(verdict: TxPrecheckVerdict, tx: Tx, bytes: Uint8Array): ValidatedTx {
  // [REJECT] the application says it can never be valid
  if (verdict === 'REJECT') reject('tx', 'TX_REJECTED', 'tx rejected by the application precheck');
  // [IGNORE] the application does not want it now (nonce gap, low fee, full mempool)
  if (verdict === 'IGNORE') ignore('tx', 'TX_IGNORED', 'tx ignored by the application precheck');
  return { tx, bytes };
}

export function validateTx(data: Uint8Array, p: ValidationParams): ValidatedTx | Promise<ValidatedTx> {
  const tx = decodeAndCheckTx(data, p);
  const hook = p.ctx.txPrecheck;
  if (hook === undefined) return { tx, bytes: data };
  const verdict = hook.call(p.ctx, tx, data);
  return typeof verdict === 'string'
    ? precheckVerdict(verdict, tx, data)
    : verdict.then((v) => precheckVerdict(v, tx, data));
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
      return validateTx(data, p);
  }
}
