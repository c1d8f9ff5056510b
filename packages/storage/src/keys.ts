import { SynodError } from '@synod/types';
import { concatBytes, prefixEnd } from './bytes.js';
import type { KvSpan } from './kv/kv-store.js';

/**
 * Every key Synod writes into its key-value store, in one place. A key is a
 * one-byte namespace followed by fixed-width big-endian fields, so that
 * LevelDB's bytewise order is height order.
 *
 *   0x00 "schema"                  u32 schema version
 *   -- block store
 *   0x10 u64 height                encoded Block
 *   0x11 u64 height                encoded Header
 *   0x12 hash[32]                  u64 height (block hash index)
 *   0x13 u64 height                encoded Commit for that height (canonical: block height+1's lastCommit)
 *   0x14                           encoded Commit: the latest seen commit (for the latest block)
 *   0x15                           u64 base ‖ u64 height (the stored block range)
 *   -- state store
 *   0x20 key…                      application state (the application's own keys)
 *   0x21 u64 height                encoded ValidatorSet in effect from that height
 *   0x22 u64 height                encoded ConsensusParams in effect from that height
 *   0x23                           state info: u64 height ‖ last results hash[32] ‖ app hash
 *   -- evidence store
 *   0x30 u64 height ‖ hash[32]     encoded Evidence, pending (height = infraction height)
 *   0x31 hash[32]                  u64 committed-at height ‖ u64 infraction height
 *   0x32 u64 height ‖ hash[32]     (empty) committed evidence by infraction height, for pruning
 *   -- reserved for other components sharing the database
 *   0x40 key…                      @synod/rpc's store (block results, transaction index), its own keys
 */
export const KEY_PREFIX = {
  schema: 0x00,
  block: 0x10,
  header: 0x11,
  blockHash: 0x12,
  commit: 0x13,
  seenCommit: 0x14,
  blockStoreMeta: 0x15,
  appState: 0x20,
  validatorSet: 0x21,
  consensusParams: 0x22,
  stateInfo: 0x23,
  evidencePending: 0x30,
  evidenceCommitted: 0x31,
  evidenceCommittedByHeight: 0x32,
  rpc: 0x40,
} as const;

/**
 * Version of the key layout and value encodings above. 2: the state info
 * carries the last block's results hash.
 */
export const STORAGE_SCHEMA_VERSION = 2;

export const SCHEMA_KEY = concatBytes(Uint8Array.of(KEY_PREFIX.schema), new TextEncoder().encode('schema'));

function checkHeight(height: number): void {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new SynodError('ENCODE_INVALID_VALUE', `height must be a non-negative safe integer, got ${height}`);
  }
}

function checkHash(hash: Uint8Array): void {
  if (!(hash instanceof Uint8Array) || hash.length !== 32) {
    throw new SynodError('ENCODE_INVALID_VALUE', 'hash must be 32 bytes');
  }
}

export function u64(n: number): Uint8Array {
  checkHeight(n);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Reads a u64 written by `u64` at `offset`; throws STORAGE_CORRUPT when out of range. */
export function readU64(bytes: Uint8Array, offset: number, what: string): number {
  if (bytes.length < offset + 8) throw new SynodError('STORAGE_CORRUPT', `${what}: truncated value`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new SynodError('STORAGE_CORRUPT', `${what}: height out of range`);
  return Number(n);
}

const one = (prefix: number): Uint8Array => Uint8Array.of(prefix);

function heightKey(prefix: number, height: number): Uint8Array {
  return concatBytes(one(prefix), u64(height));
}

function heightHashKey(prefix: number, height: number, hash: Uint8Array): Uint8Array {
  checkHash(hash);
  return concatBytes(one(prefix), u64(height), hash);
}

function hashKey(prefix: number, hash: Uint8Array): Uint8Array {
  checkHash(hash);
  return concatBytes(one(prefix), hash);
}

export const keys = {
  block: (height: number): Uint8Array => heightKey(KEY_PREFIX.block, height),
  header: (height: number): Uint8Array => heightKey(KEY_PREFIX.header, height),
  blockHash: (hash: Uint8Array): Uint8Array => hashKey(KEY_PREFIX.blockHash, hash),
  commit: (height: number): Uint8Array => heightKey(KEY_PREFIX.commit, height),
  seenCommit: one(KEY_PREFIX.seenCommit),
  blockStoreMeta: one(KEY_PREFIX.blockStoreMeta),
  appStatePrefix: one(KEY_PREFIX.appState),
  validatorSet: (height: number): Uint8Array => heightKey(KEY_PREFIX.validatorSet, height),
  consensusParams: (height: number): Uint8Array => heightKey(KEY_PREFIX.consensusParams, height),
  stateInfo: one(KEY_PREFIX.stateInfo),
  evidencePending: (height: number, hash: Uint8Array): Uint8Array =>
    heightHashKey(KEY_PREFIX.evidencePending, height, hash),
  evidenceCommitted: (hash: Uint8Array): Uint8Array => hashKey(KEY_PREFIX.evidenceCommitted, hash),
  evidenceCommittedByHeight: (height: number, hash: Uint8Array): Uint8Array =>
    heightHashKey(KEY_PREFIX.evidenceCommittedByHeight, height, hash),
} as const;

/** Keys under one namespace byte, optionally limited to heights [from, to). */
export function prefixSpan(prefix: number, fromHeight?: number, toHeight?: number): KvSpan {
  const p = one(prefix);
  return {
    gte: fromHeight === undefined ? p : heightKey(prefix, fromHeight),
    lt: toHeight === undefined ? (prefixEnd(p) ?? p) : heightKey(prefix, toHeight),
  };
}

/** The height field of a `prefix ‖ u64 height …` key. */
export function heightOfKey(key: Uint8Array, what: string): number {
  return readU64(key, 1, what);
}
