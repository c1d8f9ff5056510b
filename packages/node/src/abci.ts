/**
 * Generic ABCI helpers: the requests the node sends the application for a
 * block, and the hash of a block's results.
 *
 * ADAPTER (issue #12, "one home for each rule"): `finalizeRequestFromBlock`,
 * `misbehaviorFromBlock` and `commitInfoFromBlock` move here from
 * @synod/ledger (src/handshake.ts), and `resultsHash` from the simulator
 * (sim/src/ledger-app.ts) is to live in @synod/types. Those packages were
 * being edited by others when this package was written, so the copies there
 * still exist; they go once the ledger and the simulator import these (the
 * bodies are the same, so the wire results do not change).
 */
import { merkleRoot } from '@synod/crypto';
import {
  type Block,
  blockHash,
  type CommitInfo,
  evidenceHeight,
  evidenceValidator,
  type FinalizeBlockRequest,
  type Misbehavior,
  type ProcessProposalRequest,
  type TxResult,
  type ValidatorSet,
} from '@synod/types';

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
 * that signed it (signatures are in validator-set order). Without that set
 * (the initial height) the vote list is empty.
 */
export function commitInfoFromBlock(block: Block, lastValidators: ValidatorSet | undefined): CommitInfo {
  if (lastValidators === undefined) return { round: block.lastCommit.round, votes: [] };
  return {
    round: block.lastCommit.round,
    votes: lastValidators.validators.map((v, i) => ({
      validatorAddress: v.address,
      power: v.votingPower,
      signed: block.lastCommit.signatures[i]?.flag === 'commit',
    })),
  };
}

/** The FinalizeBlock request of a decided block; `lastValidators` is the set of height − 1. */
export function finalizeRequestFromBlock(
  block: Block,
  lastValidators: ValidatorSet | undefined,
): FinalizeBlockRequest {
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

/**
 * Hash of a block's transaction results (code and gas used of each, in block
 * order): the next header's `lastResultsHash`. The same function as the
 * simulator's, so both hosts agree on headers.
 */
export function resultsHash(results: readonly TxResult[]): Uint8Array {
  const encoder = new TextEncoder();
  return merkleRoot(
    results.map((r) => {
      const code = encoder.encode(r.code);
      const out = new Uint8Array(8 + code.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(r.gasUsed));
      out.set(code, 8);
      return out;
    }),
  );
}
