/**
 * Synod's values in CometBFT 0.38's JSON (what cmtjson writes): 64-bit
 * integers as decimal strings, 32-bit ones as numbers, hashes and addresses
 * as upper-case hex, byte strings (transactions, signatures, keys) as
 * base64, times as RFC 3339 with nine fractional digits. Pure functions of
 * their inputs; `ChainReader` loads what they need.
 */
import { merkleLeafHash, merkleProof, merkleRoot, toHex } from '@synod/crypto';
import {
  type Block,
  type Commit,
  type ConsensusParams,
  decodeTx,
  type Evidence,
  type Header,
  type SignedVote,
  type TxResult,
  type Validator,
  type ValidatorSet,
} from '@synod/types';
import { cometCode } from './codes.js';

/** The key type CometBFT's amino JSON names Ed25519 public keys with. */
export const PUB_KEY_TYPE = 'tendermint/PubKeyEd25519';

/** Synod's block format, reported as the block protocol version (CometBFT 0.38's is 11). */
export const BLOCK_PROTOCOL_VERSION = 1;

/** Go's zero time, which CometBFT writes for absent timestamps. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

/** Upper-case hex (CometBFT's HexBytes). */
export const hex = (bytes: Uint8Array): string => toHex(bytes).toUpperCase();

/** Base64 (Go's []byte in JSON). */
export const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** RFC 3339 with nanoseconds (Synod times are milliseconds: the last six digits are zero). */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000000Z`;
}

/** A JSON `int64`/`uint64`: a decimal string. */
export const int64 = (n: number | bigint): string => n.toString();

// ------------------------------------------------------------------ block ids

export interface BlockIdJson extends JsonObject {
  readonly hash: string;
  readonly parts: { readonly total: number; readonly hash: string };
}

/** The block id of no block (height 1's last block id, a nil vote's). */
export const EMPTY_BLOCK_ID: BlockIdJson = Object.freeze({
  hash: '',
  parts: Object.freeze({ total: 0, hash: '' }),
});

/**
 * The part set hash of a block: Synod gossips a block whole, as one part (its
 * SSZ encoding), so `parts` is `{ total: 1, hash: RFC 6962 root of that one part }`.
 */
export function partSetHash(encodedBlock: Uint8Array): Uint8Array {
  return merkleRoot([encodedBlock]);
}

export function blockIdJson(hash: Uint8Array, partsHash: Uint8Array): BlockIdJson {
  return { hash: hex(hash), parts: { total: 1, hash: hex(partsHash) } };
}

// ------------------------------------------------------------------ header, commit, block

/** A header; `lastBlockId` is the previous block's id (EMPTY_BLOCK_ID at the first height). */
export function headerJson(h: Header, lastBlockId: BlockIdJson): JsonObject {
  return {
    version: { block: int64(BLOCK_PROTOCOL_VERSION), app: '0' },
    chain_id: h.chainId,
    height: int64(h.height),
    time: rfc3339(h.timeMs),
    last_block_id: lastBlockId,
    last_commit_hash: hex(h.lastCommitHash),
    data_hash: hex(h.txsRoot),
    validators_hash: hex(h.validatorsHash),
    next_validators_hash: hex(h.nextValidatorsHash),
    consensus_hash: hex(h.consensusParamsHash),
    app_hash: hex(h.appHash),
    last_results_hash: hex(h.lastResultsHash),
    evidence_hash: hex(h.evidenceHash),
    proposer_address: hex(h.proposerAddress),
  };
}

const FLAG: Readonly<Record<string, number>> = { absent: 1, commit: 2, nil: 3 };

/**
 * A commit; `set` is the validator set of its height (signatures are in its
 * order), `timeMs` the time written on every signature (Synod's votes carry
 * no timestamp: the committed block's time stands in), `blockId` the
 * committed block's id.
 */
export function commitJson(c: Commit, set: ValidatorSet | undefined, timeMs: number, blockId: BlockIdJson) {
  if (c.height === 0) return { height: '0', round: 0, block_id: EMPTY_BLOCK_ID, signatures: [] };
  return {
    height: int64(c.height),
    round: c.round,
    block_id: blockId,
    signatures: c.signatures.map((s, i) => {
      const v = set?.validators[i];
      if (s.flag === 'absent')
        return { block_id_flag: 1, validator_address: '', timestamp: ZERO_TIME, signature: null };
      return {
        block_id_flag: FLAG[s.flag] as number,
        validator_address: v === undefined ? '' : hex(v.address),
        timestamp: rfc3339(timeMs),
        signature: b64(s.signature),
      };
    }),
  };
}

/** A validator (as in `validators`, `ValidatorSetUpdates`). */
export function validatorJson(v: Validator): JsonObject {
  return {
    address: hex(v.address),
    pub_key: { type: PUB_KEY_TYPE, value: b64(v.pubKey) },
    voting_power: int64(v.votingPower),
    proposer_priority: int64(v.proposerPriority),
  };
}

/** What a block's JSON needs besides the block. */
export interface BlockContext {
  /** Id of the previous block (EMPTY_BLOCK_ID at the first height). */
  readonly lastBlockId: BlockIdJson;
  /** Set of the previous height (signs `block.lastCommit`). */
  readonly lastSet: ValidatorSet | undefined;
  /** Time of the previous block (the time on its commit's signatures). */
  readonly lastTimeMs: number;
  /** Index of a validator in the set of a height, for evidence votes (-1 when unknown). */
  readonly validatorIndex: (height: number, address: Uint8Array) => number;
}

export function blockJson(block: Block, ctx: BlockContext): JsonObject {
  return {
    header: headerJson(block.header, ctx.lastBlockId),
    data: { txs: block.txs.map(b64) },
    evidence: { evidence: block.evidence.map((e) => evidenceJson(e, ctx.validatorIndex)) },
    last_commit: commitJson(block.lastCommit, ctx.lastSet, ctx.lastTimeMs, ctx.lastBlockId),
  };
}

// ------------------------------------------------------------------ evidence

function voteJson(sv: SignedVote, timeMs: number, index: number): JsonObject {
  const v = sv.vote;
  return {
    type: v.type === 'prevote' ? 1 : 2,
    height: int64(v.height),
    round: v.round,
    // A vote names the block by hash only: its part set is unknown.
    block_id: v.blockHash === null ? EMPTY_BLOCK_ID : { hash: hex(v.blockHash), parts: EMPTY_BLOCK_ID.parts },
    timestamp: rfc3339(timeMs),
    validator_address: hex(v.validatorAddress),
    validator_index: index,
    signature: b64(sv.signature),
    extension: null,
    extension_signature: null,
  };
}

/**
 * Evidence in amino JSON: a duplicate vote as CometBFT's
 * `tendermint/DuplicateVoteEvidence`; a double proposal (CometBFT has no such
 * evidence) as `synod/DoubleProposalEvidence` of the same layout.
 */
export function evidenceJson(e: Evidence, validatorIndex: BlockContext['validatorIndex']): JsonObject {
  const common = {
    TotalVotingPower: int64(e.totalVotingPower),
    ValidatorPower: int64(e.validatorPower),
    Timestamp: rfc3339(e.timeMs),
  };
  if (e.kind === 'duplicate-vote') {
    const idx = validatorIndex(e.voteA.vote.height, e.voteA.vote.validatorAddress);
    return {
      type: 'tendermint/DuplicateVoteEvidence',
      value: {
        vote_a: voteJson(e.voteA, e.timeMs, idx),
        vote_b: voteJson(e.voteB, e.timeMs, idx),
        ...common,
      },
    };
  }
  const proposal = (p: typeof e.proposalA): JsonObject => ({
    type: 32,
    height: int64(p.proposal.height),
    round: p.proposal.round,
    pol_round: p.proposal.polRound,
    block_id: { hash: hex(p.proposal.blockHash), parts: EMPTY_BLOCK_ID.parts },
    timestamp: rfc3339(p.proposal.timestampMs),
    proposer_address: hex(p.proposal.proposerAddress),
    signature: b64(p.signature),
  });
  return {
    type: 'synod/DoubleProposalEvidence',
    value: { proposal_a: proposal(e.proposalA), proposal_b: proposal(e.proposalB), ...common },
  };
}

// ------------------------------------------------------------------ results

/** ABCI events: `[{ type, attributes: [{ key, value, index }] }]` (every attribute is indexed). */
export function eventsJson(events: TxResult['events']): Json[] {
  return events.map((e) => ({
    type: e.type,
    attributes: Object.entries(e.attributes).map(([key, value]) => ({ key, value, index: true })),
  }));
}

/**
 * The gas a transaction asked for: its `gasLimit` when it decodes as a
 * Synod ledger transaction (the format the ledger, mempool, RPC and CLI
 * share), else 0 (another application's format).
 */
export function gasWanted(tx: Uint8Array): number {
  try {
    return decodeTx(tx).body.gasLimit;
  } catch {
    return 0;
  }
}

/** An `ExecTxResult`. */
export function txResultJson(r: TxResult, wanted: number): JsonObject {
  return {
    ...cometCode(r.code),
    data: null,
    log: r.log,
    info: '',
    gas_wanted: int64(wanted),
    gas_used: int64(r.gasUsed),
    events: eventsJson(r.events),
  };
}

/** A `TxProof`: the RFC 6962 audit path of the transaction in the block's `data_hash` tree. */
export function txProofJson(txs: readonly Uint8Array[], index: number, root: Uint8Array): JsonObject {
  const tx = txs[index] as Uint8Array;
  return {
    root_hash: hex(root),
    data: b64(tx),
    proof: {
      total: int64(txs.length),
      index: int64(index),
      leaf_hash: b64(merkleLeafHash(tx)),
      aunts: merkleProof(txs, index).map(b64),
    },
  };
}

// ------------------------------------------------------------------ params

const NS_PER_MS = 1_000_000n;

/**
 * Consensus params in 0.38's shape (`block`, `evidence`, `validator`,
 * `version`, `abci`; durations in nanoseconds), plus Synod's own ones under
 * `synod` as they are (milliseconds, parts per million).
 */
export function consensusParamsJson(p: ConsensusParams): JsonObject {
  return {
    block: { max_bytes: int64(p.block.maxBytes), max_gas: int64(p.block.maxGas) },
    evidence: {
      max_age_num_blocks: int64(p.evidence.maxAgeBlocks),
      max_age_duration: int64(BigInt(p.evidence.maxAgeDurationMs) * NS_PER_MS),
      max_bytes: int64(p.evidence.maxBytes),
    },
    validator: { pub_key_types: ['ed25519'] },
    version: { app: '0' },
    abci: { vote_extensions_enable_height: '0' },
    synod: p as unknown as JsonObject,
  };
}

/** The app version as a uint64 string: the trailing number of the application's version string ('synod-ledger/1' → '1'), else '0'. */
export function appVersionNumber(appVersion: string): string {
  const m = /(\d+)$/.exec(appVersion);
  return m === null ? '0' : BigInt(m[1] as string).toString();
}
