/**
 * Blocks a Byzantine proposer makes up: well-formed blocks of the right
 * height that no honest node may accept (one of five ways), and blocks with
 * the evidence it chooses. The header hashes are made to match, so only the
 * node's validation (signatures, the evidence rules, the ledger) can tell.
 */
import { type Block, blockHash, commitHash, type Evidence, evidenceListHash, txsRoot } from '@synod/types';
import type { SimChain } from './chain.js';
import type { ReferenceChain } from './reference.js';

/** `block` with other transactions, evidence or app hash (its header's hashes made to match). */
export function reassemble(
  block: Block,
  txs: readonly Uint8Array[],
  evidence: readonly Evidence[],
  appHash: Uint8Array = block.header.appHash,
): Block {
  return {
    ...block,
    header: { ...block.header, txsRoot: txsRoot(txs), evidenceHash: evidenceListHash(evidence), appHash },
    txs,
    evidence,
  };
}

/** `block` with exactly `evidence` as its evidence. */
export function withEvidence(block: Block, evidence: readonly Evidence[]): Block {
  return reassemble(block, block.txs, evidence);
}

/**
 * A block of the same height that validation rejects, one of five ways
 * (chosen by the block's hash): a transfer with a broken signature, forged
 * evidence (signatures that do not verify), evidence the chain already
 * committed, a wrong app hash in the header, or a last commit with a
 * signature that does not verify (its header's hash made to match).
 */
export function corruptBlock(block: Block, chain: SimChain, reference: ReferenceChain): Block {
  const id = blockHash(block);
  const way = (id[0] as number) % 4;
  const committed = reference.committedEvidence();
  if (way === 1) {
    const forged = withForgedEvidence(block, reference);
    if (forged !== undefined) return forged;
  }
  if (way === 2 && committed.length > 0) {
    const again = committed[(id[1] as number) % committed.length] as Evidence;
    return reassemble(block, block.txs, [...block.evidence, again]);
  }
  if (way === 3 && (id[1] as number) % 2 === 0) {
    const forged = withForgedLastCommit(block);
    if (forged !== undefined) return forged;
  }
  if (way === 3) {
    const appHash = block.header.appHash.slice();
    appHash[0] = (appHash[0] as number) ^ 0xff;
    return reassemble(block, block.txs, block.evidence, appHash);
  }
  // A transfer whose signature is broken: the ledger rejects it (TX_BAD_SIGNATURE).
  const sender = (id[1] as number) % chain.accounts.length;
  const account = chain.accounts[sender];
  const nonce = account === undefined ? 0 : reference.ledger.account(account.address).nonce;
  const tx = chain.transfer({
    sender,
    nonce,
    to: (sender + 1) % chain.accounts.length,
    amount: 1n,
    badSignature: true,
  });
  return reassemble(block, [...block.txs, tx], block.evidence);
}

/**
 * `block` with duplicate-vote evidence against a validator of the previous
 * height whose signatures are made up (only evidence verification can tell);
 * undefined at height 1.
 */
export function withForgedEvidence(block: Block, reference: ReferenceChain): Block | undefined {
  const h = block.header.height;
  const id = blockHash(block);
  const lastSet = reference.validatorSetAt(h - 1);
  const lastTime = reference.blockAt(h - 1)?.header.timeMs;
  if (h < 2 || lastSet === undefined || lastTime === undefined) return undefined;
  const accused = lastSet.validators[(id[1] as number) % lastSet.validators.length];
  if (accused === undefined) return undefined;
  const vote = (hash: Uint8Array | null, fill: number) => ({
    vote: {
      type: 'prevote' as const,
      height: h - 1,
      round: 0,
      blockHash: hash,
      validatorAddress: accused.address,
    },
    signature: new Uint8Array(64).fill(fill),
  });
  const forged: Evidence = {
    kind: 'duplicate-vote',
    voteA: vote(null, 1),
    voteB: vote(id, 2),
    validatorPower: accused.votingPower,
    totalVotingPower: lastSet.validators.reduce((a, v) => a + v.votingPower, 0),
    timeMs: lastTime,
  };
  return reassemble(block, block.txs, [...block.evidence, forged]);
}

/**
 * `block` whose last commit has one signature that does not verify (its
 * header's last-commit hash made to match: only commit verification can
 * tell); undefined when the last commit has no signature.
 */
export function withForgedLastCommit(block: Block): Block | undefined {
  const i = block.lastCommit.signatures.findIndex((s) => s.flag !== 'absent');
  if (i < 0) return undefined;
  const signatures = block.lastCommit.signatures.map((s, j) => {
    if (j !== i) return s;
    const signature = s.signature.slice();
    signature[0] = (signature[0] as number) ^ 0xff;
    return { ...s, signature };
  });
  const lastCommit = { ...block.lastCommit, signatures };
  return { ...block, header: { ...block.header, lastCommitHash: commitHash(lastCommit) }, lastCommit };
}
