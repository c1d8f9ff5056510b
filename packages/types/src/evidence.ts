import { compareBytes, merkleRoot, sha256 } from '@synod/crypto';
import { bytesEqual, checkDecodedUint, checkUint, invalid, sszDecode, sszEncode } from './codec.js';
import { SynodError } from './errors.js';
import type { ConsensusParams } from './params.js';
import { encodeProposal, proposalFromSsz, proposalToSsz, type SignedProposal } from './proposal.js';
import { EvidenceSsz } from './schema.js';
import { encodeVote, type SignedVote, voteFromSsz, voteToSsz } from './vote.js';

/** Two conflicting signed votes of one validator for the same (height, round, type). */
export interface DuplicateVoteEvidence {
  readonly kind: 'duplicate-vote';
  readonly voteA: SignedVote;
  readonly voteB: SignedVote;
  /** The validator's power at that height. */
  readonly validatorPower: number;
  readonly totalVotingPower: number;
  /** Time of the block at the infraction height (for expiry by duration). */
  readonly timeMs: number;
}

/** Two signed proposals of one proposer for the same (height, round) with different blocks. */
export interface DoubleProposalEvidence {
  readonly kind: 'double-proposal';
  readonly proposalA: SignedProposal;
  readonly proposalB: SignedProposal;
  readonly validatorPower: number;
  readonly totalVotingPower: number;
  readonly timeMs: number;
}

export type Evidence = DuplicateVoteEvidence | DoubleProposalEvidence;
export type EvidenceKind = Evidence['kind'];

type EvidenceValue = ReturnType<typeof EvidenceSsz.defaultValue>;

export function evidenceToSsz(e: Evidence): EvidenceValue {
  checkUint(e.validatorPower, 'evidence.validatorPower');
  checkUint(e.totalVotingPower, 'evidence.totalVotingPower');
  checkUint(e.timeMs, 'evidence.timeMs');
  if (e.kind === 'duplicate-vote') {
    return {
      selector: 0,
      value: {
        voteA: { vote: voteToSsz(e.voteA.vote), signature: e.voteA.signature },
        voteB: { vote: voteToSsz(e.voteB.vote), signature: e.voteB.signature },
        validatorPower: e.validatorPower,
        totalVotingPower: e.totalVotingPower,
        timeMs: e.timeMs,
      },
    };
  }
  if (e.kind === 'double-proposal') {
    return {
      selector: 1,
      value: {
        proposalA: { proposal: proposalToSsz(e.proposalA.proposal), signature: e.proposalA.signature },
        proposalB: { proposal: proposalToSsz(e.proposalB.proposal), signature: e.proposalB.signature },
        validatorPower: e.validatorPower,
        totalVotingPower: e.totalVotingPower,
        timeMs: e.timeMs,
      },
    };
  }
  throw new SynodError('ENCODE_INVALID_VALUE', 'evidence: unknown kind');
}

interface DupValue {
  voteA: { vote: Parameters<typeof voteFromSsz>[0]; signature: Uint8Array };
  voteB: { vote: Parameters<typeof voteFromSsz>[0]; signature: Uint8Array };
  validatorPower: number;
  totalVotingPower: number;
  timeMs: number;
}
interface DpValue {
  proposalA: { proposal: Parameters<typeof proposalFromSsz>[0]; signature: Uint8Array };
  proposalB: { proposal: Parameters<typeof proposalFromSsz>[0]; signature: Uint8Array };
  validatorPower: number;
  totalVotingPower: number;
  timeMs: number;
}

export function evidenceFromSsz(s: EvidenceValue): Evidence {
  if (s.selector === 0) {
    const v = s.value as unknown as DupValue;
    checkDecodedUint(v.validatorPower, 'evidence.validatorPower');
    checkDecodedUint(v.totalVotingPower, 'evidence.totalVotingPower');
    checkDecodedUint(v.timeMs, 'evidence.timeMs');
    return {
      kind: 'duplicate-vote',
      voteA: { vote: voteFromSsz(v.voteA.vote), signature: v.voteA.signature },
      voteB: { vote: voteFromSsz(v.voteB.vote), signature: v.voteB.signature },
      validatorPower: v.validatorPower,
      totalVotingPower: v.totalVotingPower,
      timeMs: v.timeMs,
    };
  }
  if (s.selector === 1) {
    const v = s.value as unknown as DpValue;
    checkDecodedUint(v.validatorPower, 'evidence.validatorPower');
    checkDecodedUint(v.totalVotingPower, 'evidence.totalVotingPower');
    checkDecodedUint(v.timeMs, 'evidence.timeMs');
    return {
      kind: 'double-proposal',
      proposalA: { proposal: proposalFromSsz(v.proposalA.proposal), signature: v.proposalA.signature },
      proposalB: { proposal: proposalFromSsz(v.proposalB.proposal), signature: v.proposalB.signature },
      validatorPower: v.validatorPower,
      totalVotingPower: v.totalVotingPower,
      timeMs: v.timeMs,
    };
  }
  return invalid('evidence', `unknown selector ${s.selector}`);
}

/** Largest encoded evidence item (either kind): 305 bytes. */
export const EVIDENCE_BYTES_MAX: number = EvidenceSsz.maxSize;

export function encodeEvidence(e: Evidence): Uint8Array {
  return sszEncode(EvidenceSsz, evidenceToSsz(e), 'evidence');
}

export function decodeEvidence(bytes: Uint8Array): Evidence {
  return evidenceFromSsz(sszDecode(EvidenceSsz, bytes, 'evidence'));
}

/** SHA-256 of the canonical encoding: the identity used for deduplication. */
export function evidenceHash(e: Evidence): Uint8Array {
  return sha256(encodeEvidence(e));
}

/** Merkle root (RFC 6962) of the encoded evidence list: the header's evidenceHash. */
export function evidenceListHash(list: readonly Evidence[]): Uint8Array {
  return merkleRoot(list.map(encodeEvidence));
}

/** Height of the infraction. */
export function evidenceHeight(e: Evidence): number {
  return e.kind === 'duplicate-vote' ? e.voteA.vote.height : e.proposalA.proposal.height;
}

/** Address of the accused validator. */
export function evidenceValidator(e: Evidence): Uint8Array {
  return e.kind === 'duplicate-vote' ? e.voteA.vote.validatorAddress : e.proposalA.proposal.proposerAddress;
}

/**
 * The canonical order of evidence: the encoding of message A (`encodeVote` /
 * `encodeProposal`, unsigned) sorts strictly before that of message B
 * (`compareBytes`). Valid evidence is in this order, so one conflicting pair is
 * one evidence value, not two (and gossip cannot be fed both orders).
 */
export function isCanonicalEvidenceOrder(e: Evidence): boolean {
  return e.kind === 'duplicate-vote'
    ? compareBytes(encodeVote(e.voteA.vote), encodeVote(e.voteB.vote)) < 0
    : compareBytes(encodeProposal(e.proposalA.proposal), encodeProposal(e.proposalB.proposal)) < 0;
}

/**
 * `e` in canonical order (A and B swapped when needed): what every producer of
 * evidence (the consensus engine, the evidence pool) hands on.
 */
export function canonicalEvidence<E extends Evidence>(e: E): E {
  if (isCanonicalEvidenceOrder(e)) return e;
  return e.kind === 'duplicate-vote'
    ? { ...e, voteA: e.voteB, voteB: e.voteA }
    : {
        ...e,
        proposalA: (e as DoubleProposalEvidence).proposalB,
        proposalB: (e as DoubleProposalEvidence).proposalA,
      };
}

/**
 * Structural check (no signatures): both messages from the same validator, same
 * (height, round, type), different contents, in canonical order
 * (`isCanonicalEvidenceOrder`). Returns a reason or undefined.
 */
export function evidenceStructureProblem(e: Evidence): string | undefined {
  if (e.kind === 'duplicate-vote') {
    const a = e.voteA.vote;
    const b = e.voteB.vote;
    if (a.type !== b.type || a.height !== b.height || a.round !== b.round)
      return 'votes differ in height/round/type';
    if (!bytesEqual(a.validatorAddress, b.validatorAddress)) return 'votes from different validators';
    const same =
      a.blockHash === null
        ? b.blockHash === null
        : b.blockHash !== null && bytesEqual(a.blockHash, b.blockHash);
    if (same) return 'votes are for the same block';
    if (!isCanonicalEvidenceOrder(e)) return 'votes are not in canonical order (A must sort before B)';
    return undefined;
  }
  const a = e.proposalA.proposal;
  const b = e.proposalB.proposal;
  if (a.height !== b.height || a.round !== b.round) return 'proposals differ in height/round';
  if (!bytesEqual(a.proposerAddress, b.proposerAddress)) return 'proposals from different validators';
  if (bytesEqual(a.blockHash, b.blockHash)) return 'proposals are for the same block';
  if (!isCanonicalEvidenceOrder(e)) return 'proposals are not in canonical order (A must sort before B)';
  return undefined;
}

/**
 * Evidence is expired when it is older than maxAgeBlocks AND older than
 * maxAgeDurationMs (both must be exceeded, as in CometBFT: a slow chain does not
 * lose evidence early, nor a fast one). The one age rule: fault-detector's
 * verification and gossip validation both apply it.
 */
export function isEvidenceExpired(
  evidenceHeightValue: number,
  evidenceTimeMs: number,
  height: number,
  timeMs: number,
  params: ConsensusParams,
): boolean {
  const ageBlocks = height - evidenceHeightValue;
  const ageMs = timeMs - evidenceTimeMs;
  return ageBlocks > params.evidence.maxAgeBlocks && ageMs > params.evidence.maxAgeDurationMs;
}

/** The committed chain as the evidence time rules see it. */
export interface EvidenceChainView {
  /** Last committed height. */
  readonly height: number;
  /** Block time of `height` (ms since epoch). */
  readonly timeMs: number;
  readonly params: ConsensusParams;
  /** Block time of a committed height, or undefined if unknown (pruned). */
  blockTimeAt(height: number): number | undefined;
}

export type EvidenceTimeProblemCode = 'FROM_FUTURE' | 'EXPIRED' | 'UNKNOWN_HEIGHT' | 'WRONG_TIME';

/**
 * The height and time rules of evidence against the committed chain: its
 * height is committed (`FROM_FUTURE`), its time is not after the last block's
 * (`WRONG_TIME`), it is not expired (`isEvidenceExpired`, `EXPIRED`), and it
 * records the block time of its height (`UNKNOWN_HEIGHT` when that time is not
 * known, `WRONG_TIME` when it differs). Cheap: no signatures.
 */
export function evidenceTimeProblem(
  e: Evidence,
  chain: EvidenceChainView,
): { readonly code: EvidenceTimeProblemCode; readonly reason: string } | undefined {
  const h = evidenceHeight(e);
  if (h > chain.height)
    return { code: 'FROM_FUTURE', reason: `evidence height ${h} is above ${chain.height}` };
  if (e.timeMs > chain.timeMs)
    return { code: 'WRONG_TIME', reason: 'evidence time is after the last committed block' };
  if (isEvidenceExpired(h, e.timeMs, chain.height, chain.timeMs, chain.params))
    return { code: 'EXPIRED', reason: `evidence from height ${h} is too old` };
  const blockTime = chain.blockTimeAt(h);
  if (blockTime === undefined)
    return { code: 'UNKNOWN_HEIGHT', reason: `no block time known for height ${h}` };
  if (e.timeMs !== blockTime) return { code: 'WRONG_TIME', reason: 'evidence time is not the block time' };
  return undefined;
}
