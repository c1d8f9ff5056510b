import { merkleRoot, sha256 } from '@synod/crypto';
import { bytesEqual, checkDecodedUint, checkUint, invalid, sszDecode, sszEncode } from './codec.js';
import { SynodError } from './errors.js';
import { proposalFromSsz, proposalToSsz, type SignedProposal } from './proposal.js';
import { EvidenceSsz } from './schema.js';
import { type SignedVote, voteFromSsz, voteToSsz } from './vote.js';

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
 * Structural check (no signatures): both messages from the same validator, same
 * (height, round, type), different contents. Returns a reason or undefined.
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
    return undefined;
  }
  const a = e.proposalA.proposal;
  const b = e.proposalB.proposal;
  if (a.height !== b.height || a.round !== b.round) return 'proposals differ in height/round';
  if (!bytesEqual(a.proposerAddress, b.proposerAddress)) return 'proposals from different validators';
  if (bytesEqual(a.blockHash, b.blockHash)) return 'proposals are for the same block';
  return undefined;
}
