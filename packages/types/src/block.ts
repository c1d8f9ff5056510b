import { merkleRoot, sha256 } from '@synod/crypto';
import { assertChainId, isValidChainId } from './chain-id.js';
import {
  bytesEqual,
  checkDecodedUint,
  checkLength,
  checkUint,
  invalid,
  isZero,
  sszDecode,
  sszEncode,
  utf8Decode,
  utf8Encode,
  ZERO_HASH,
} from './codec.js';
import { SynodError } from './errors.js';
import { type Evidence, evidenceFromSsz, evidenceListHash, evidenceToSsz } from './evidence.js';
import { LIMITS } from './limits.js';
import { BlockSsz, CommitSsz, HeaderSsz } from './schema.js';

export type BlockHash = Uint8Array;

/** Identifies a block: the hash of its header. */
export interface BlockId {
  readonly hash: BlockHash;
}

export interface Header {
  readonly chainId: string;
  readonly height: number;
  /** Block time, milliseconds since the Unix epoch, chosen by the proposer. */
  readonly timeMs: number;
  /** Hash of the previous block (zero at the initial height). */
  readonly lastBlockHash: Uint8Array;
  /** RFC 6962 Merkle root of the transactions. */
  readonly txsRoot: Uint8Array;
  /** Hash of the validator set that decides this block. */
  readonly validatorsHash: Uint8Array;
  /** Hash of the validator set of the next height. */
  readonly nextValidatorsHash: Uint8Array;
  readonly consensusParamsHash: Uint8Array;
  /** Application state hash after the previous block. */
  readonly appHash: Uint8Array;
  /** Hash of the previous block's transaction results. */
  readonly lastResultsHash: Uint8Array;
  readonly evidenceHash: Uint8Array;
  readonly lastCommitHash: Uint8Array;
  readonly proposerAddress: Uint8Array;
}

export type CommitSigFlag = 'absent' | 'commit' | 'nil';

/** One validator's precommit in a commit, in validator-set order. */
export interface CommitSig {
  readonly flag: CommitSigFlag;
  /** 64 bytes; all zero when absent. */
  readonly signature: Uint8Array;
}

/** More than 2/3 of the power's precommits for `blockHash` at (height, round). */
export interface Commit {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly signatures: readonly CommitSig[];
}

export interface Block {
  readonly header: Header;
  /** Transactions as opaque bytes (the application defines their format). */
  readonly txs: readonly Uint8Array[];
  readonly evidence: readonly Evidence[];
  /** The commit of the previous block (empty at the initial height). */
  readonly lastCommit: Commit;
}

const FLAG_CODE: Readonly<Record<CommitSigFlag, number>> = { absent: 0, commit: 1, nil: 2 };
const FLAG_NAME: readonly CommitSigFlag[] = ['absent', 'commit', 'nil'];

/** The empty commit carried by the first block. */
export const EMPTY_COMMIT: Commit = Object.freeze({
  height: 0,
  round: 0,
  blockHash: ZERO_HASH,
  signatures: Object.freeze([]) as readonly CommitSig[],
});

type HeaderValue = ReturnType<typeof HeaderSsz.defaultValue>;
type CommitValue = ReturnType<typeof CommitSsz.defaultValue>;

const HASH_FIELDS = [
  'lastBlockHash',
  'txsRoot',
  'validatorsHash',
  'nextValidatorsHash',
  'consensusParamsHash',
  'appHash',
  'lastResultsHash',
  'evidenceHash',
  'lastCommitHash',
] as const;

export function headerToSsz(h: Header): HeaderValue {
  assertChainId(h.chainId);
  checkUint(h.height, 'header.height');
  if (h.height === 0) throw new SynodError('ENCODE_INVALID_VALUE', 'header.height must be positive');
  checkUint(h.timeMs, 'header.timeMs');
  for (const f of HASH_FIELDS) checkLength(h[f], 32, `header.${f}`);
  checkLength(h.proposerAddress, 20, 'header.proposerAddress');
  return { ...h, chainId: utf8Encode(h.chainId) };
}

export function headerFromSsz(s: HeaderValue): Header {
  const chainId = utf8Decode(s.chainId, 'header.chainId');
  if (!isValidChainId(chainId)) invalid('header', 'invalid chain id');
  checkDecodedUint(s.height, 'header.height');
  if (s.height === 0) invalid('header', 'height must be positive');
  checkDecodedUint(s.timeMs, 'header.timeMs');
  return { ...s, chainId };
}

export function commitToSsz(c: Commit): CommitValue {
  checkUint(c.height, 'commit.height');
  checkUint(c.round, 'commit.round', LIMITS.roundMax);
  checkLength(c.blockHash, 32, 'commit.blockHash');
  return {
    height: c.height,
    round: c.round,
    blockHash: c.blockHash,
    signatures: c.signatures.map((s) => {
      const flag = FLAG_CODE[s.flag];
      if (flag === undefined) throw new SynodError('ENCODE_INVALID_VALUE', 'commit: unknown signature flag');
      checkLength(s.signature, 64, 'commitSig.signature');
      return { flag, signature: s.signature };
    }),
  };
}

export function commitFromSsz(s: CommitValue): Commit {
  checkDecodedUint(s.height, 'commit.height');
  checkDecodedUint(s.round, 'commit.round', LIMITS.roundMax);
  return {
    height: s.height,
    round: s.round,
    blockHash: s.blockHash,
    signatures: s.signatures.map((cs) => {
      const flag = FLAG_NAME[cs.flag] ?? invalid('commit', `unknown signature flag ${cs.flag}`);
      if (flag === 'absent' && !isZero(cs.signature)) invalid('commit', 'absent signature must be zero');
      return { flag, signature: cs.signature };
    }),
  };
}

export function encodeHeader(h: Header): Uint8Array {
  return sszEncode(HeaderSsz, headerToSsz(h), 'header');
}

export function decodeHeader(bytes: Uint8Array): Header {
  return headerFromSsz(sszDecode(HeaderSsz, bytes, 'header'));
}

export function encodeCommit(c: Commit): Uint8Array {
  return sszEncode(CommitSsz, commitToSsz(c), 'commit');
}

export function decodeCommit(bytes: Uint8Array): Commit {
  return commitFromSsz(sszDecode(CommitSsz, bytes, 'commit'));
}

/** Bytes each transaction adds to an encoded block besides its own bytes (its SSZ list offset). */
export const BLOCK_TX_OVERHEAD_BYTES = 4;

/**
 * What `maxBytes` (the chain's `block.maxBytes`) leaves for transactions once
 * the block without them — header, last commit, evidence — is counted: the
 * one proposal byte budget of the node, the ledger and the simulator. Each
 * transaction then costs its length plus BLOCK_TX_OVERHEAD_BYTES.
 */
export function blockTxBytesBudget(maxBytes: number, withoutTxs: Block): number {
  return Math.max(0, maxBytes - encodeBlock(withoutTxs).length);
}

export function encodeBlock(b: Block): Uint8Array {
  return sszEncode(
    BlockSsz,
    {
      header: headerToSsz(b.header),
      txs: b.txs as Uint8Array[],
      evidence: b.evidence.map(evidenceToSsz),
      lastCommit: commitToSsz(b.lastCommit),
    },
    'block',
  );
}

/** Decodes a block; `maxBytes` (default LIMITS.blockBytesMax) is checked before parsing. */
export function decodeBlock(bytes: Uint8Array, maxBytes: number = LIMITS.blockBytesMax): Block {
  const s = sszDecode(BlockSsz, bytes, 'block', Math.min(maxBytes, LIMITS.blockBytesMax));
  return {
    header: headerFromSsz(s.header),
    txs: s.txs,
    evidence: s.evidence.map(evidenceFromSsz),
    lastCommit: commitFromSsz(s.lastCommit),
  };
}

/**
 * Hashes of header objects already hashed. Headers are immutable values (every
 * field readonly; a changed header is a new object), so the hash of an object
 * never changes; the cache lets the many places that identify a block by its
 * hash (engine, stores, gossip validation) pay for one encoding and one
 * SHA-256 per block object. Callers get a copy.
 */
const headerHashes = new WeakMap<Header, BlockHash>();

/** The block hash: SHA-256 of the canonical header encoding. */
export function headerHash(h: Header): BlockHash {
  let hash = headerHashes.get(h);
  if (hash === undefined) {
    hash = sha256(encodeHeader(h));
    headerHashes.set(h, hash);
  }
  return hash.slice();
}

export function blockHash(b: Block): BlockHash {
  return headerHash(b.header);
}

export function txsRoot(txs: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(txs);
}

/** SHA-256 of the encoded commit (ZERO_HASH for the empty commit). */
export function commitHash(c: Commit): Uint8Array {
  if (c.height === 0 && c.signatures.length === 0) return ZERO_HASH;
  return sha256(encodeCommit(c));
}

/**
 * Checks that the header's data hashes match the block's contents (txs root,
 * evidence hash, last commit hash, height continuity of the last commit).
 * Returns a reason, or undefined when consistent.
 */
export function blockDataProblem(b: Block): string | undefined {
  if (!bytesEqual(b.header.txsRoot, txsRoot(b.txs))) return 'txsRoot does not match the transactions';
  if (!bytesEqual(b.header.evidenceHash, evidenceListHash(b.evidence))) return 'evidenceHash does not match';
  if (!bytesEqual(b.header.lastCommitHash, commitHash(b.lastCommit))) return 'lastCommitHash does not match';
  if (b.lastCommit.height !== 0 && b.lastCommit.height !== b.header.height - 1) {
    return 'lastCommit is not for the previous height';
  }
  if (b.lastCommit.height !== 0 && !bytesEqual(b.lastCommit.blockHash, b.header.lastBlockHash)) {
    return 'lastCommit is not for lastBlockHash';
  }
  return undefined;
}
