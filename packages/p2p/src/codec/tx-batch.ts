import { DecodeError, SynodError } from '@synod/types';

/**
 * Transactions are gossiped in batches: one gossipsub message (one message
 * id, one noise/yamux frame per peer, one validation pass) carries many
 * transactions.
 *
 *     u16 big-endian count ‖ count × (u16 big-endian length ‖ SSZ(Tx))
 *
 * A batch holds 1…`txBatchTxsMax` distinct transactions, each 1…`txBytesMax`
 * bytes, and is at most `txBatchBytesMax` bytes in all, with nothing after
 * its last transaction. Anything else does not decode.
 */
export interface TxBatchLimits {
  /** Largest transaction. */
  readonly txBytesMax: number;
  /** Most transactions in one batch. */
  readonly txBatchTxsMax: number;
  /** Largest batch message, framing included. */
  readonly txBatchBytesMax: number;
}

/** Bytes of the count header. */
export const TX_BATCH_HEADER_BYTES = 2;
/** Bytes of each transaction's length prefix. */
export const TX_BATCH_ITEM_OVERHEAD_BYTES = 2;

/** The encoded size of a batch of transactions of these lengths. */
export function txBatchBytes(txLengths: readonly number[]): number {
  let n = TX_BATCH_HEADER_BYTES;
  for (const len of txLengths) n += TX_BATCH_ITEM_OVERHEAD_BYTES + len;
  return n;
}

/** Encodes a batch. Throws SynodError (P2P_INVALID_MESSAGE) for an empty batch or a count / length a u16 cannot hold. */
export function encodeTxBatch(txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length === 0 || txs.length > 0xffff)
    throw new SynodError('P2P_INVALID_MESSAGE', `tx batch of ${txs.length} transactions`);
  const out = new Uint8Array(txBatchBytes(txs.map((t) => t.length)));
  const view = new DataView(out.buffer);
  view.setUint16(0, txs.length, false);
  let at = TX_BATCH_HEADER_BYTES;
  for (const tx of txs) {
    if (tx.length === 0 || tx.length > 0xffff)
      throw new SynodError('P2P_INVALID_MESSAGE', `tx of ${tx.length} bytes in a batch`);
    view.setUint16(at, tx.length, false);
    out.set(tx, at + TX_BATCH_ITEM_OVERHEAD_BYTES);
    at += TX_BATCH_ITEM_OVERHEAD_BYTES + tx.length;
  }
  return out;
}

/** Why a batch does not decode: `too-large` (bytes or count over the limits), `malformed` (framing), `duplicate` (a transaction twice). */
export type TxBatchProblem = 'too-large' | 'malformed' | 'duplicate';

/** A batch that does not decode (a DecodeError, code DECODE_INVALID_BYTES) and which rule it breaks. */
export class TxBatchDecodeError extends DecodeError {
  constructor(
    readonly problem: TxBatchProblem,
    message: string,
  ) {
    super('DECODE_INVALID_BYTES', `tx batch: ${message}`);
  }
}

/**
 * The transactions of a batch, as views into `data` (not decoded: each is
 * checked as a transaction by validation). Bounded before any work: the
 * byte size first, then the count from the header, then each length before
 * it is read. Throws TxBatchDecodeError.
 */
export function decodeTxBatch(data: Uint8Array, limits: TxBatchLimits): Uint8Array[] {
  if (data.length > limits.txBatchBytesMax)
    throw new TxBatchDecodeError('too-large', `${data.length} bytes > ${limits.txBatchBytesMax}`);
  if (data.length < TX_BATCH_HEADER_BYTES)
    throw new TxBatchDecodeError('malformed', 'shorter than its header');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint16(0, false);
  if (count === 0) throw new TxBatchDecodeError('malformed', 'no transactions');
  if (count > limits.txBatchTxsMax)
    throw new TxBatchDecodeError('too-large', `${count} transactions > ${limits.txBatchTxsMax}`);
  const txs: Uint8Array[] = [];
  // one key per transaction (its signature and length are part of its bytes: the whole bytes are the key)
  const seen = new Set<string>();
  let at = TX_BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + TX_BATCH_ITEM_OVERHEAD_BYTES > data.length)
      throw new TxBatchDecodeError('malformed', `truncated before transaction ${i}`);
    const len = view.getUint16(at, false);
    at += TX_BATCH_ITEM_OVERHEAD_BYTES;
    if (len === 0 || len > limits.txBytesMax)
      throw new TxBatchDecodeError('malformed', `transaction ${i} of ${len} bytes`);
    if (at + len > data.length) throw new TxBatchDecodeError('malformed', `transaction ${i} truncated`);
    const tx = data.subarray(at, at + len);
    const key = Buffer.from(tx.buffer, tx.byteOffset, tx.byteLength).toString('latin1');
    if (seen.has(key)) throw new TxBatchDecodeError('duplicate', `transaction ${i} repeated`);
    seen.add(key);
    txs.push(tx);
    at += len;
  }
  if (at !== data.length)
    throw new TxBatchDecodeError('malformed', `${data.length - at} bytes after the last transaction`);
  return txs;
}
