import { sha256 } from '@synod/crypto';
import { assertChainId, isValidChainId } from './chain-id.js';
import {
  checkDecodedUint,
  checkLength,
  checkUint,
  invalid,
  sszDecode,
  sszEncode,
  utf8Decode,
  utf8Encode,
} from './codec.js';
import { SynodError } from './errors.js';
import { LIMITS } from './limits.js';
import { SignedTxSsz, type TxBodySsz } from './schema.js';

/**
 * The transaction format of the default ledger application. Blocks carry
 * transactions as opaque bytes (so another application can use its own
 * format); the ledger, mempool, RPC and CLI share this one.
 */
export type TxMsg =
  | { readonly kind: 'transfer'; readonly to: Uint8Array; readonly amount: bigint }
  | { readonly kind: 'bond'; readonly validatorPubKey: Uint8Array; readonly amount: bigint }
  | { readonly kind: 'unbond'; readonly validatorPubKey: Uint8Array; readonly amount: bigint }
  | { readonly kind: 'unjail'; readonly validatorPubKey: Uint8Array };

export type TxKind = TxMsg['kind'];

export interface TxBody {
  readonly chainId: string;
  /** The sender's Ed25519 public key (its address is derived from it). */
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly fee: bigint;
  readonly gasLimit: number;
  readonly msg: TxMsg;
  readonly memo: Uint8Array;
}

/** A signed transaction: the Tx of the domain. */
export interface Tx {
  readonly body: TxBody;
  /** Ed25519 signature by `body.sender` over `txSignBytes(chainId, body)`. */
  readonly signature: Uint8Array;
}

const U64_MAX = (1n << 64n) - 1n;

function checkAmount(a: bigint, what: string): void {
  if (typeof a !== 'bigint' || a < 0n || a > U64_MAX) {
    throw new SynodError('ENCODE_INVALID_VALUE', `${what}: must be a uint64 bigint`);
  }
}

type TxBodyValue = ReturnType<typeof TxBodySsz.defaultValue>;
type TxMsgValue = TxBodyValue['msg'];

function msgToSsz(m: TxMsg): TxMsgValue {
  switch (m.kind) {
    case 'transfer':
      checkLength(m.to, 20, 'transfer.to');
      checkAmount(m.amount, 'transfer.amount');
      return { selector: 0, value: { to: m.to, amount: m.amount } };
    case 'bond':
      checkLength(m.validatorPubKey, 32, 'bond.validatorPubKey');
      checkAmount(m.amount, 'bond.amount');
      return { selector: 1, value: { validatorPubKey: m.validatorPubKey, amount: m.amount } };
    case 'unbond':
      checkLength(m.validatorPubKey, 32, 'unbond.validatorPubKey');
      checkAmount(m.amount, 'unbond.amount');
      return { selector: 2, value: { validatorPubKey: m.validatorPubKey, amount: m.amount } };
    case 'unjail':
      checkLength(m.validatorPubKey, 32, 'unjail.validatorPubKey');
      return { selector: 3, value: { validatorPubKey: m.validatorPubKey } };
    default:
      throw new SynodError('ENCODE_INVALID_VALUE', 'tx: unknown message kind');
  }
}

function msgFromSsz(s: TxMsgValue): TxMsg {
  const v = s.value as Record<string, unknown>;
  switch (s.selector) {
    case 0:
      return { kind: 'transfer', to: v.to as Uint8Array, amount: v.amount as bigint };
    case 1:
      return { kind: 'bond', validatorPubKey: v.validatorPubKey as Uint8Array, amount: v.amount as bigint };
    case 2:
      return { kind: 'unbond', validatorPubKey: v.validatorPubKey as Uint8Array, amount: v.amount as bigint };
    case 3:
      return { kind: 'unjail', validatorPubKey: v.validatorPubKey as Uint8Array };
    default:
      return invalid('tx', `unknown message selector ${s.selector}`);
  }
}

export function txBodyToSsz(b: TxBody): TxBodyValue {
  assertChainId(b.chainId);
  checkLength(b.sender, 32, 'tx.sender');
  checkUint(b.nonce, 'tx.nonce');
  checkAmount(b.fee, 'tx.fee');
  checkUint(b.gasLimit, 'tx.gasLimit');
  if (!(b.memo instanceof Uint8Array) || b.memo.length > LIMITS.memoBytesMax) {
    throw new SynodError('ENCODE_INVALID_VALUE', `tx.memo: at most ${LIMITS.memoBytesMax} bytes`);
  }
  return {
    chainId: utf8Encode(b.chainId),
    sender: b.sender,
    nonce: b.nonce,
    fee: b.fee,
    gasLimit: b.gasLimit,
    msg: msgToSsz(b.msg),
    memo: b.memo,
  };
}

function txBodyFromSsz(s: TxBodyValue): TxBody {
  const chainId = utf8Decode(s.chainId, 'tx.chainId');
  if (!isValidChainId(chainId)) invalid('tx', 'invalid chain id');
  checkDecodedUint(s.nonce, 'tx.nonce');
  checkDecodedUint(s.gasLimit, 'tx.gasLimit');
  return {
    chainId,
    sender: s.sender,
    nonce: s.nonce,
    fee: s.fee,
    gasLimit: s.gasLimit,
    msg: msgFromSsz(s.msg),
    memo: s.memo,
  };
}

/** Largest encoded signed transaction of this format (memo and message at their maxima): 483 bytes. */
export const SIGNED_TX_BYTES_MAX: number = SignedTxSsz.maxSize;

export function encodeTx(tx: Tx): Uint8Array {
  checkLength(tx.signature, 64, 'tx.signature');
  return sszEncode(SignedTxSsz, { body: txBodyToSsz(tx.body), signature: tx.signature }, 'tx');
}

/** Decodes a signed transaction; `maxBytes` (default LIMITS.txBytesMax) is checked first. */
export function decodeTx(bytes: Uint8Array, maxBytes: number = LIMITS.txBytesMax): Tx {
  const s = sszDecode(SignedTxSsz, bytes, 'tx', Math.min(maxBytes, LIMITS.txBytesMax));
  return { body: txBodyFromSsz(s.body), signature: s.signature };
}

/** Transaction hash: SHA-256 of the encoded transaction. */
export function txHash(txBytes: Uint8Array): Uint8Array {
  return sha256(txBytes);
}
