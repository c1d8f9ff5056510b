import { checkDecodedUint, checkLength, checkUint, invalid, isZero, sszDecode, sszEncode } from './codec.js';
import { SynodError } from './errors.js';
import { LIMITS } from './limits.js';
import { ProposalSsz, SignedProposalSsz } from './schema.js';

/** A proposer's signed claim "in (height, round) I propose this block". */
export interface Proposal {
  readonly height: number;
  readonly round: number;
  /** The round of the proof-of-lock the block comes with, or -1 (paper: validRound). */
  readonly polRound: number;
  readonly blockHash: Uint8Array;
  readonly timestampMs: number;
  readonly proposerAddress: Uint8Array;
}

export interface SignedProposal {
  readonly proposal: Proposal;
  /** Ed25519 signature over `proposalSignBytes(chainId, proposal)`. */
  readonly signature: Uint8Array;
}

/** On the wire, polRound -1 is 0xffffffff. */
const NO_POL_ROUND = 0xffff_ffff;

type ProposalValue = ReturnType<typeof ProposalSsz.defaultValue>;

export function proposalToSsz(p: Proposal): ProposalValue {
  checkUint(p.height, 'proposal.height');
  checkUint(p.round, 'proposal.round', LIMITS.roundMax);
  if (p.polRound !== -1) {
    checkUint(p.polRound, 'proposal.polRound', LIMITS.roundMax);
    if (p.polRound >= p.round) {
      throw new SynodError(
        'ENCODE_INVALID_VALUE',
        `proposal.polRound ${p.polRound} must be below round ${p.round}`,
      );
    }
  }
  checkUint(p.timestampMs, 'proposal.timestampMs');
  checkLength(p.blockHash, 32, 'proposal.blockHash');
  checkLength(p.proposerAddress, 20, 'proposal.proposerAddress');
  return {
    height: p.height,
    round: p.round,
    polRound: p.polRound === -1 ? NO_POL_ROUND : p.polRound,
    blockHash: p.blockHash,
    timestampMs: p.timestampMs,
    proposerAddress: p.proposerAddress,
  };
}

export function proposalFromSsz(s: ProposalValue): Proposal {
  checkDecodedUint(s.height, 'proposal.height');
  checkDecodedUint(s.round, 'proposal.round', LIMITS.roundMax);
  checkDecodedUint(s.timestampMs, 'proposal.timestampMs');
  const polRound = s.polRound === NO_POL_ROUND ? -1 : s.polRound;
  if (polRound >= s.round) invalid('proposal', `polRound ${polRound} must be below round ${s.round}`);
  if (isZero(s.blockHash)) invalid('proposal', 'blockHash is zero');
  return {
    height: s.height,
    round: s.round,
    polRound,
    blockHash: s.blockHash,
    timestampMs: s.timestampMs,
    proposerAddress: s.proposerAddress,
  };
}

export function encodeProposal(p: Proposal): Uint8Array {
  return sszEncode(ProposalSsz, proposalToSsz(p), 'proposal');
}

export function decodeProposal(bytes: Uint8Array): Proposal {
  return proposalFromSsz(sszDecode(ProposalSsz, bytes, 'proposal'));
}

export function encodeSignedProposal(sp: SignedProposal): Uint8Array {
  checkLength(sp.signature, 64, 'signedProposal.signature');
  return sszEncode(
    SignedProposalSsz,
    { proposal: proposalToSsz(sp.proposal), signature: sp.signature },
    'signedProposal',
  );
}

export function decodeSignedProposal(bytes: Uint8Array): SignedProposal {
  const s = sszDecode(SignedProposalSsz, bytes, 'signedProposal');
  return { proposal: proposalFromSsz(s.proposal), signature: s.signature };
}
