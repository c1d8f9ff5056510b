/**
 * The application's requests for a block, and the hash of a block's results:
 * one implementation, used by @synod/node's block executor and handshake, by
 * @synod/ledger's tests and by the simulator. They live here, next to the
 * `Application` interface and the block types they map between, so that the
 * application and every host can use them without depending on the node.
 */
import { merkleRoot } from '@synod/crypto';
import type {
  CommitInfo,
  FinalizeBlockRequest,
  Misbehavior,
  ProcessProposalRequest,
  TxResult,
} from './application.js';
import { type Block, blockHash, type CommitSig } from './block.js';
import { evidenceHeight, evidenceValidator } from './evidence.js';
import type { ValidatorSet } from './validator.js';

/**
 * Whether a validator's entry in a block's last commit counts as signing that
 * block (`CommitInfo`'s `signed`, which downtime tracking reads — the Cosmos
 * rule): a precommit for the block or for nil both show the validator online;
 * only an absent signature is a miss.
 */
export function countsAsSigned(sig: CommitSig | undefined): boolean {
  return sig !== undefined && sig.flag !== 'absent';
}

/** Misbehaviour to punish, from a block's committed evidence. */
export function misbehaviorFromBlock(block: Block): Misbehavior[] {
  return block.evidence.map((e) => ({
    kind: e.kind,
    validatorAddress: evidenceValidator(e),
    height: evidenceHeight(e),
    timeMs: e.timeMs,
    validatorPower: e.validatorPower,
    totalVotingPower: e.totalVotingPower,
  }));
}

/**
 * Who signed the previous block, from `block.lastCommit` and the validator set
 * that signed it (signatures are in validator-set order; `countsAsSigned`).
 * Without that set (the initial height) the vote list is empty.
 */
export function commitInfoFromBlock(block: Block, lastValidators?: ValidatorSet): CommitInfo {
  if (lastValidators === undefined) return { round: block.lastCommit.round, votes: [] };
  return {
    round: block.lastCommit.round,
    votes: lastValidators.validators.map((v, i) => ({
      validatorAddress: v.address,
      power: v.votingPower,
      signed: countsAsSigned(block.lastCommit.signatures[i]),
    })),
  };
}

/** The FinalizeBlock request of a decided block; `lastValidators` is the set of height − 1. */
export function finalizeRequestFromBlock(block: Block, lastValidators?: ValidatorSet): FinalizeBlockRequest {
  return {
    height: block.header.height,
    timeMs: block.header.timeMs,
    hash: blockHash(block),
    proposerAddress: block.header.proposerAddress,
    txs: block.txs,
    misbehavior: misbehaviorFromBlock(block),
    decidedLastCommit: commitInfoFromBlock(block, lastValidators),
  };
}

/** The ProcessProposal request of a proposed block. */
export function processProposalRequestFromBlock(block: Block): ProcessProposalRequest {
  return {
    height: block.header.height,
    timeMs: block.header.timeMs,
    proposerAddress: block.header.proposerAddress,
    hash: blockHash(block),
    txs: block.txs,
    misbehavior: misbehaviorFromBlock(block),
  };
}

const UTF8 = new TextEncoder();

/**
 * Hash of a block's transaction results, the next header's `lastResultsHash`:
 * the Merkle root of one leaf per transaction, in block order, of its gas used
 * (u64, big-endian) followed by its code (UTF-8). The log and events are not
 * part of it (they are not consensus data).
 */
export function resultsHash(results: readonly TxResult[]): Uint8Array {
  return merkleRoot(
    results.map((r) => {
      const code = UTF8.encode(r.code);
      const out = new Uint8Array(8 + code.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(r.gasUsed));
      out.set(code, 8);
      return out;
    }),
  );
}
