/**
 * The consensus engine's WAL records. The WAL itself (@synod/storage) stores
 * opaque bytes; this module defines what the engine writes and how it reads it
 * back for replay.
 *
 * Layout: `version (1) ‖ tag (1) ‖ fields`, where numbers are big-endian
 * (u32, or u64 limited to 2^53 − 1) and byte fields are `u32 length ‖ bytes`.
 * Messages use the canonical SSZ encodings of @synod/types.
 */
import {
  type Block,
  decodeBlock,
  decodeProposal,
  decodeSignedProposal,
  decodeSignedVote,
  decodeVote,
  encodeBlock,
  encodeProposal,
  encodeSignedProposal,
  encodeSignedVote,
  encodeVote,
  type Proposal,
  type SignedProposal,
  type SignedVote,
  type SignStep,
  SynodError,
  type Vote,
} from '@synod/types';
import type { RoundStep } from './types.js';

export const WAL_RECORD_VERSION = 1;

export type WalEntry =
  /** A received, signature-checked proposal; with its block and the application's verdict when it came with one. */
  | {
      readonly kind: 'proposal';
      readonly proposal: SignedProposal;
      readonly block: Block | null;
      readonly valid: boolean | null;
    }
  /** A received, signature-checked vote. */
  | { readonly kind: 'vote'; readonly vote: SignedVote }
  /** A block that arrived on its own (fetched by hash), with the application's verdict. */
  | { readonly kind: 'block'; readonly block: Block; readonly valid: boolean }
  /** A timer that fired. */
  | { readonly kind: 'timeout'; readonly step: RoundStep; readonly height: number; readonly round: number }
  /** The block our node proposes at (height, round) (the answer to getValue()). */
  | { readonly kind: 'value'; readonly height: number; readonly round: number; readonly block: Block }
  /** Our own proposal, written and synced before it is signed. */
  | { readonly kind: 'own-proposal'; readonly proposal: Proposal }
  /** Our own vote, written and synced before it is signed. */
  | { readonly kind: 'own-vote'; readonly vote: Vote }
  /** The signature of our own message at (height, round, step), written after signing. */
  | {
      readonly kind: 'own-signature';
      readonly step: SignStep;
      readonly height: number;
      readonly round: number;
      readonly signature: Uint8Array;
    };

export type WalEntryKind = WalEntry['kind'];

const TAG: Readonly<Record<WalEntryKind, number>> = {
  proposal: 1,
  vote: 2,
  block: 3,
  timeout: 4,
  value: 5,
  'own-proposal': 6,
  'own-vote': 7,
  'own-signature': 8,
};
const KIND_BY_TAG: readonly (WalEntryKind | undefined)[] = [
  undefined,
  'proposal',
  'vote',
  'block',
  'timeout',
  'value',
  'own-proposal',
  'own-vote',
  'own-signature',
];
const ROUND_STEPS: readonly RoundStep[] = ['propose', 'prevote', 'precommit'];
const SIGN_STEPS: readonly SignStep[] = ['proposal', 'prevote', 'precommit'];

/** Writes into one growing buffer (records are small; blocks are copied once). */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private size = 0;

  private reserve(n: number): number {
    const at = this.size;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.size = at + n;
    return at;
  }

  u8(n: number): this {
    this.buf[this.reserve(1)] = n;
    return this;
  }

  u32(n: number): this {
    this.view.setUint32(this.reserve(4), n);
    return this;
  }

  u64(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new SynodError('ENCODE_INVALID_VALUE', `WAL record: bad number ${n}`);
    const at = this.reserve(8);
    this.view.setUint32(at, Math.floor(n / 2 ** 32));
    this.view.setUint32(at + 4, n >>> 0);
    return this;
  }

  bytes(data: Uint8Array): this {
    this.u32(data.length);
    const at = this.reserve(data.length); // may grow (replace) the buffer: reserve first
    this.buf.set(data, at);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.size);
  }
}

function corrupt(reason: string, cause?: unknown): never {
  throw new SynodError('WAL_CORRUPT', `WAL record: ${reason}`, cause === undefined ? undefined : { cause });
}

class Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(n: number): void {
    if (this.offset + n > this.data.length) corrupt('truncated');
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) corrupt('number out of range');
    return Number(v);
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const b = this.data.slice(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }

  end(): void {
    if (this.offset !== this.data.length) corrupt('trailing bytes');
  }
}

export function encodeWalEntry(entry: WalEntry): Uint8Array {
  const w = new Writer().u8(WAL_RECORD_VERSION).u8(TAG[entry.kind]);
  switch (entry.kind) {
    case 'proposal':
      w.bytes(encodeSignedProposal(entry.proposal));
      if (entry.block === null) w.u8(0);
      else w.u8(entry.valid === false ? 2 : 1).bytes(encodeBlock(entry.block));
      break;
    case 'vote':
      w.bytes(encodeSignedVote(entry.vote));
      break;
    case 'block':
      w.u8(entry.valid ? 1 : 0).bytes(encodeBlock(entry.block));
      break;
    case 'timeout':
      w.u8(ROUND_STEPS.indexOf(entry.step)).u64(entry.height).u32(entry.round);
      break;
    case 'value':
      w.u64(entry.height).u32(entry.round).bytes(encodeBlock(entry.block));
      break;
    case 'own-proposal':
      w.bytes(encodeProposal(entry.proposal));
      break;
    case 'own-vote':
      w.bytes(encodeVote(entry.vote));
      break;
    case 'own-signature':
      w.u8(SIGN_STEPS.indexOf(entry.step)).u64(entry.height).u32(entry.round).bytes(entry.signature);
      break;
  }
  return w.finish();
}

function decoded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    return corrupt(`bad ${what}`, e);
  }
}

/** Decodes one record; throws SynodError `WAL_CORRUPT` on anything malformed. */
export function decodeWalEntry(data: Uint8Array): WalEntry {
  const r = new Reader(data);
  const version = r.u8();
  if (version !== WAL_RECORD_VERSION) corrupt(`unknown version ${version}`);
  const kind = KIND_BY_TAG[r.u8()] ?? corrupt('unknown tag');
  let entry: WalEntry;
  switch (kind) {
    case 'proposal': {
      const proposal = decoded('proposal', () => decodeSignedProposal(r.bytes()));
      const flag = r.u8();
      if (flag > 2) corrupt('bad block flag');
      const block = flag === 0 ? null : decoded('block', () => decodeBlock(r.bytes()));
      entry = { kind, proposal, block, valid: flag === 0 ? null : flag === 1 };
      break;
    }
    case 'vote':
      entry = { kind, vote: decoded('vote', () => decodeSignedVote(r.bytes())) };
      break;
    case 'block': {
      const flag = r.u8();
      if (flag > 1) corrupt('bad validity flag');
      entry = { kind, valid: flag === 1, block: decoded('block', () => decodeBlock(r.bytes())) };
      break;
    }
    case 'timeout': {
      const step = ROUND_STEPS[r.u8()] ?? corrupt('bad step');
      entry = { kind, step, height: r.u64(), round: r.u32() };
      break;
    }
    case 'value':
      entry = {
        kind,
        height: r.u64(),
        round: r.u32(),
        block: decoded('block', () => decodeBlock(r.bytes())),
      };
      break;
    case 'own-proposal':
      entry = { kind, proposal: decoded('proposal', () => decodeProposal(r.bytes())) };
      break;
    case 'own-vote':
      entry = { kind, vote: decoded('vote', () => decodeVote(r.bytes())) };
      break;
    case 'own-signature': {
      const step = SIGN_STEPS[r.u8()] ?? corrupt('bad sign step');
      entry = { kind, step, height: r.u64(), round: r.u32(), signature: r.bytes() };
      break;
    }
  }
  r.end();
  return entry;
}
