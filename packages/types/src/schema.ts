/**
 * The canonical binary encoding: SSZ containers (@chainsafe/ssz). SSZ is
 * deterministic by construction (one encoding per value) and every list and
 * byte list has a bound, so decoding never allocates beyond it.
 *
 * These SSZ shapes are internal; the public domain types (vote.ts, block.ts, …)
 * convert to and from them where the representations differ (nil hashes,
 * polRound -1, string chain ids, signed priorities, unions).
 */
import {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
  UnionType,
} from '@chainsafe/ssz';
import { LIMITS } from './limits.js';

export const Uint8 = new UintNumberType(1);
export const Uint32 = new UintNumberType(4);
export const UintNum64 = new UintNumberType(8);
export const UintBn64 = new UintBigintType(8);
export const Bytes20 = new ByteVectorType(20);
export const Bytes32 = new ByteVectorType(32);
export const Bytes64 = new ByteVectorType(64);
export const ChainIdBytes = new ByteListType(LIMITS.chainIdBytesMax);

export const VoteSsz = new ContainerType(
  {
    type: Uint8,
    height: UintNum64,
    round: Uint32,
    blockHash: Bytes32,
    validatorAddress: Bytes20,
  },
  { typeName: 'Vote' },
);

export const SignedVoteSsz = new ContainerType(
  { vote: VoteSsz, signature: Bytes64 },
  { typeName: 'SignedVote' },
);

export const ProposalSsz = new ContainerType(
  {
    height: UintNum64,
    round: Uint32,
    polRound: Uint32,
    blockHash: Bytes32,
    timestampMs: UintNum64,
    proposerAddress: Bytes20,
  },
  { typeName: 'Proposal' },
);

export const SignedProposalSsz = new ContainerType(
  { proposal: ProposalSsz, signature: Bytes64 },
  { typeName: 'SignedProposal' },
);

export const HeaderSsz = new ContainerType(
  {
    chainId: ChainIdBytes,
    height: UintNum64,
    timeMs: UintNum64,
    lastBlockHash: Bytes32,
    txsRoot: Bytes32,
    validatorsHash: Bytes32,
    nextValidatorsHash: Bytes32,
    consensusParamsHash: Bytes32,
    appHash: Bytes32,
    lastResultsHash: Bytes32,
    evidenceHash: Bytes32,
    lastCommitHash: Bytes32,
    proposerAddress: Bytes20,
  },
  { typeName: 'Header' },
);

export const CommitSigSsz = new ContainerType({ flag: Uint8, signature: Bytes64 }, { typeName: 'CommitSig' });

export const CommitSsz = new ContainerType(
  {
    height: UintNum64,
    round: Uint32,
    blockHash: Bytes32,
    signatures: new ListCompositeType(CommitSigSsz, LIMITS.validatorsMax),
  },
  { typeName: 'Commit' },
);

export const DuplicateVoteEvidenceSsz = new ContainerType(
  {
    voteA: SignedVoteSsz,
    voteB: SignedVoteSsz,
    validatorPower: UintNum64,
    totalVotingPower: UintNum64,
    timeMs: UintNum64,
  },
  { typeName: 'DuplicateVoteEvidence' },
);

export const DoubleProposalEvidenceSsz = new ContainerType(
  {
    proposalA: SignedProposalSsz,
    proposalB: SignedProposalSsz,
    validatorPower: UintNum64,
    totalVotingPower: UintNum64,
    timeMs: UintNum64,
  },
  { typeName: 'DoubleProposalEvidence' },
);

export const EvidenceSsz = new UnionType([DuplicateVoteEvidenceSsz, DoubleProposalEvidenceSsz], {
  typeName: 'Evidence',
});

export const TxBytesSsz = new ByteListType(LIMITS.txBytesMax);

export const BlockSsz = new ContainerType(
  {
    header: HeaderSsz,
    txs: new ListCompositeType(TxBytesSsz, LIMITS.blockTxsMax),
    evidence: new ListCompositeType(EvidenceSsz, LIMITS.blockEvidenceMax),
    lastCommit: CommitSsz,
  },
  { typeName: 'Block' },
);

export const ValidatorSsz = new ContainerType(
  {
    address: Bytes20,
    pubKey: Bytes32,
    votingPower: UintNum64,
    /** int64 stored as its two's-complement uint64. */
    proposerPriority: UintBn64,
  },
  { typeName: 'Validator' },
);

/** What the validators hash commits to: key and power, not the (changing) priority. */
export const SimpleValidatorSsz = new ContainerType(
  { pubKey: Bytes32, votingPower: UintNum64 },
  { typeName: 'SimpleValidator' },
);

export const ValidatorSetSsz = new ContainerType(
  { validators: new ListCompositeType(ValidatorSsz, LIMITS.validatorsMax) },
  { typeName: 'ValidatorSet' },
);

export const ConsensusParamsSsz = new ContainerType(
  {
    timeouts: new ContainerType({
      proposeMs: UintNum64,
      proposeDeltaMs: UintNum64,
      prevoteMs: UintNum64,
      prevoteDeltaMs: UintNum64,
      precommitMs: UintNum64,
      precommitDeltaMs: UintNum64,
      capMs: UintNum64,
      commitMs: UintNum64,
    }),
    block: new ContainerType({ maxBytes: UintNum64, maxGas: UintNum64, maxTimeDriftMs: UintNum64 }),
    evidence: new ContainerType({
      maxAgeBlocks: UintNum64,
      maxAgeDurationMs: UintNum64,
      maxBytes: UintNum64,
    }),
    slashing: new ContainerType({
      doubleSignSlashPpm: UintNum64,
      downtimeSlashPpm: UintNum64,
      signedBlocksWindow: UintNum64,
      minSignedPerWindowPpm: UintNum64,
      downtimeJailDurationMs: UintNum64,
    }),
    staking: new ContainerType({ unbondingBlocks: UintNum64, maxValidators: UintNum64 }),
  },
  { typeName: 'ConsensusParams' },
);

export const TransferMsgSsz = new ContainerType(
  { to: Bytes20, amount: UintBn64 },
  { typeName: 'TransferMsg' },
);
export const BondMsgSsz = new ContainerType(
  { validatorPubKey: Bytes32, amount: UintBn64 },
  { typeName: 'BondMsg' },
);
export const UnbondMsgSsz = new ContainerType(
  { validatorPubKey: Bytes32, amount: UintBn64 },
  { typeName: 'UnbondMsg' },
);
export const UnjailMsgSsz = new ContainerType({ validatorPubKey: Bytes32 }, { typeName: 'UnjailMsg' });

export const TxMsgSsz = new UnionType([TransferMsgSsz, BondMsgSsz, UnbondMsgSsz, UnjailMsgSsz], {
  typeName: 'TxMsg',
});

export const TxBodySsz = new ContainerType(
  {
    chainId: ChainIdBytes,
    sender: Bytes32,
    nonce: UintNum64,
    fee: UintBn64,
    gasLimit: UintNum64,
    msg: TxMsgSsz,
    memo: new ByteListType(LIMITS.memoBytesMax),
  },
  { typeName: 'TxBody' },
);

export const SignedTxSsz = new ContainerType(
  { body: TxBodySsz, signature: Bytes64 },
  { typeName: 'SignedTx' },
);
