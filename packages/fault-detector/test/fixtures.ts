import { addressFromPublicKey, keyPairFromSeed, sign } from '@synod/crypto';
import {
  type ConsensusParams,
  DEFAULT_CONSENSUS_PARAMS,
  type Evidence,
  makeValidatorSet,
  type Proposal,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type ValidatorSet,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import type { EvidenceContext } from '../src/index.js';

export const CHAIN_ID = 'fd-test';
export const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));
export const set: ValidatorSet = makeValidatorSet(
  keys.map((k, i) => ({
    address: addressFromPublicKey(k.publicKey),
    pubKey: k.publicKey,
    votingPower: 10 + i,
    proposerPriority: 0n,
  })),
);
/** Key of the validator at index i of the (address-sorted) set. */
export const keyAt = (i: number) => {
  const v = set.validators[i];
  const k = keys.find((kk) => Buffer.from(kk.publicKey).equals(Buffer.from(v?.pubKey ?? [])));
  if (!k) throw new Error('no key');
  return k;
};

export const hashOf = (n: number) => new Uint8Array(32).fill(n);

export function signedVote(i: number, v: Omit<Vote, 'validatorAddress'>, chainId = CHAIN_ID): SignedVote {
  const vote: Vote = { ...v, validatorAddress: set.validators[i]?.address as Uint8Array };
  return { vote, signature: sign(keyAt(i), voteSignBytes(chainId, vote)) };
}

export function signedProposal(i: number, p: Omit<Proposal, 'proposerAddress'>): SignedProposal {
  const proposal: Proposal = { ...p, proposerAddress: set.validators[i]?.address as Uint8Array };
  return { proposal, signature: sign(keyAt(i), proposalSignBytes(CHAIN_ID, proposal)) };
}

export const BLOCK_TIME = (h: number) => 1_700_000_000_000 + h * 1000;

export function duplicateVote(i: number, height = 5, round = 0): Evidence {
  return {
    kind: 'duplicate-vote',
    voteA: signedVote(i, { type: 'prevote', height, round, blockHash: hashOf(1) }),
    voteB: signedVote(i, { type: 'prevote', height, round, blockHash: hashOf(2) }),
    validatorPower: set.validators[i]?.votingPower as number,
    totalVotingPower: 46,
    timeMs: BLOCK_TIME(height),
  };
}

export function doubleProposal(i: number, height = 5, round = 0): Evidence {
  const p = { height, round, polRound: -1, timestampMs: BLOCK_TIME(height) };
  return {
    kind: 'double-proposal',
    proposalA: signedProposal(i, { ...p, blockHash: hashOf(1) }),
    proposalB: signedProposal(i, { ...p, blockHash: hashOf(2) }),
    validatorPower: set.validators[i]?.votingPower as number,
    totalVotingPower: 46,
    timeMs: BLOCK_TIME(height),
  };
}

export function context(height = 10, params: ConsensusParams = DEFAULT_CONSENSUS_PARAMS): EvidenceContext {
  return {
    chainId: CHAIN_ID,
    height,
    timeMs: BLOCK_TIME(height),
    params,
    validatorSetAt: (h) => (h >= 1 && h <= height ? set : undefined),
    blockTimeAt: (h) => (h >= 1 && h <= height ? BLOCK_TIME(h) : undefined),
  };
}
