/**
 * Request and response payloads of the request/response protocols. Every
 * message travels in one unsigned-varint length-prefixed frame; a response is
 * zero or more chunks, each `result (1 byte) ‖ payload`, ended by the server
 * closing its side of the stream.
 *
 *     status         request: empty            response: 1 chunk  height u64 ‖ earliestHeight u64 ‖ lastBlockHash 32
 *     block-by-hash  request: hash (32)        response: 1 chunk  SSZ(Block), or RESOURCE_UNAVAILABLE
 *     block-range    request: from u64 ‖ to u64  response: n chunks u32 len ‖ SSZ(Block) ‖ SSZ(Commit)
 *
 * Any request may instead be answered with one RATE_LIMITED chunk.
 *     pex            request: empty            response: n chunks binary multiaddr (with /p2p/<peer id>)
 *
 * Integers are big-endian; u64 values must be below 2^53.
 */
import {
  type Block,
  type Commit,
  DecodeError,
  decodeBlock,
  decodeCommit,
  encodeBlock,
  encodeCommit,
} from '@synod/types';

/** First byte of every response chunk. */
export const RESULT_CODES = {
  SUCCESS: 0,
  INVALID_REQUEST: 1,
  SERVER_ERROR: 2,
  RESOURCE_UNAVAILABLE: 3,
  /** The requester asked too often (per-peer, per-protocol rate limit); the payload says so in text. */
  RATE_LIMITED: 4,
} as const;

export type ResultName = keyof typeof RESULT_CODES;

const RESULT_NAMES: readonly ResultName[] = [
  'SUCCESS',
  'INVALID_REQUEST',
  'SERVER_ERROR',
  'RESOURCE_UNAVAILABLE',
  'RATE_LIMITED',
];

export interface ResponseChunk {
  readonly result: ResultName;
  readonly payload: Uint8Array;
}

export function encodeChunk(chunk: ResponseChunk): Uint8Array {
  const out = new Uint8Array(1 + chunk.payload.length);
  out[0] = RESULT_CODES[chunk.result];
  out.set(chunk.payload, 1);
  return out;
}

export function decodeChunk(bytes: Uint8Array): ResponseChunk {
  const code = bytes[0];
  const result = code === undefined ? undefined : RESULT_NAMES[code];
  if (result === undefined)
    throw new DecodeError('DECODE_INVALID_BYTES', `response chunk: unknown result code ${String(code)}`);
  return { result, payload: bytes.subarray(1) };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function writeU64(dv: DataView, offset: number, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what}: must be a non-negative safe integer`);
  dv.setBigUint64(offset, BigInt(value), false);
}

function readU64(dv: DataView, offset: number, what: string): number {
  const v = dv.getBigUint64(offset, false);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new DecodeError('DECODE_INVALID_VALUE', `${what}: above 2^53`);
  return Number(v);
}

// --- status -----------------------------------------------------------------

/** What a node says about its chain. */
export interface StatusMessage {
  /** Last committed height (0 before the first block). */
  readonly height: number;
  /** Hash of the block at `height` (32 zero bytes at height 0). */
  readonly lastBlockHash: Uint8Array;
  /** Lowest height whose block this node can serve (after pruning). */
  readonly earliestHeight: number;
}

export const STATUS_BYTES = 8 + 8 + 32;

export function encodeStatus(s: StatusMessage): Uint8Array {
  if (s.lastBlockHash.length !== 32) throw new RangeError('status.lastBlockHash: must be 32 bytes');
  const out = new Uint8Array(STATUS_BYTES);
  const dv = view(out);
  writeU64(dv, 0, s.height, 'status.height');
  writeU64(dv, 8, s.earliestHeight, 'status.earliestHeight');
  out.set(s.lastBlockHash, 16);
  return out;
}

export function decodeStatus(bytes: Uint8Array): StatusMessage {
  if (bytes.length !== STATUS_BYTES)
    throw new DecodeError('DECODE_INVALID_BYTES', `status: ${bytes.length} bytes`);
  const dv = view(bytes);
  const height = readU64(dv, 0, 'status.height');
  const earliestHeight = readU64(dv, 8, 'status.earliestHeight');
  if (earliestHeight > height)
    throw new DecodeError('DECODE_INVALID_VALUE', 'status: earliestHeight above height');
  return { height, earliestHeight, lastBlockHash: bytes.slice(16, 48) };
}

// --- block-range ---------------------------------------------------------------

export interface BlockRangeRequest {
  readonly from: number;
  /** Inclusive. */
  readonly to: number;
}

export const BLOCK_RANGE_REQUEST_BYTES = 16;

export function encodeBlockRangeRequest(r: BlockRangeRequest): Uint8Array {
  const out = new Uint8Array(BLOCK_RANGE_REQUEST_BYTES);
  const dv = view(out);
  writeU64(dv, 0, r.from, 'range.from');
  writeU64(dv, 8, r.to, 'range.to');
  return out;
}

export function decodeBlockRangeRequest(bytes: Uint8Array): BlockRangeRequest {
  if (bytes.length !== BLOCK_RANGE_REQUEST_BYTES)
    throw new DecodeError('DECODE_INVALID_BYTES', `range request: ${bytes.length} bytes`);
  const dv = view(bytes);
  const from = readU64(dv, 0, 'range.from');
  const to = readU64(dv, 8, 'range.to');
  if (from < 1 || to < from)
    throw new DecodeError('DECODE_INVALID_VALUE', `range request: bad range [${from}, ${to}]`);
  return { from, to };
}

/** A block and the commit that finalised it (precommits of its own height). */
export interface BlockWithCommit {
  readonly block: Block;
  readonly commit: Commit;
}

export function encodeBlockWithCommitParts(block: Uint8Array, commit: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + block.length + commit.length);
  view(out).setUint32(0, block.length, false);
  out.set(block, 4);
  out.set(commit, 4 + block.length);
  return out;
}

export function encodeBlockWithCommit(item: BlockWithCommit): Uint8Array {
  return encodeBlockWithCommitParts(encodeBlock(item.block), encodeCommit(item.commit));
}

export function decodeBlockWithCommit(
  bytes: Uint8Array,
  blockBytesMax: number,
  commitBytesMax: number,
): BlockWithCommit {
  if (bytes.length < 4) throw new DecodeError('DECODE_INVALID_BYTES', 'range chunk: shorter than its header');
  const len = view(bytes).getUint32(0, false);
  if (len > blockBytesMax || 4 + len > bytes.length)
    throw new DecodeError('DECODE_TOO_LARGE', `range chunk: block length ${len}`);
  const commitBytes = bytes.subarray(4 + len);
  if (commitBytes.length > commitBytesMax)
    throw new DecodeError('DECODE_TOO_LARGE', `range chunk: commit of ${commitBytes.length} bytes`);
  return { block: decodeBlock(bytes.subarray(4, 4 + len), blockBytesMax), commit: decodeCommit(commitBytes) };
}
