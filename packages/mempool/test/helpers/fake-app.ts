import type { CheckTxKind, CheckTxResult } from '@synod/types';

/**
 * A test transaction format (not the ledger's): 22-byte header
 * [0] version = 1, [1..5) sender id, [5..9) nonce, [9..17) priority, [17..21) gas, [21] unordered flag,
 * then padding bytes up to `size` (filled with `tag` so equal fields can differ).
 */
export interface FakeTxFields {
  readonly sender: number;
  readonly nonce: number;
  readonly priority?: bigint | number;
  readonly gas?: number;
  /** Total length in bytes (≥ 22). @default 32 */
  readonly size?: number;
  readonly tag?: number;
  /** Omit sender/nonce from the checkTx result (an unordered tx). */
  readonly unordered?: boolean;
}

export const HEADER_BYTES = 22;

export function makeTx(f: FakeTxFields): Uint8Array {
  const size = f.size ?? 32;
  if (size < HEADER_BYTES) throw new RangeError(`fake tx: size must be ≥ ${HEADER_BYTES}`);
  const tx = new Uint8Array(size);
  const view = new DataView(tx.buffer);
  tx[0] = 1;
  view.setUint32(1, f.sender);
  view.setUint32(5, f.nonce);
  view.setBigUint64(9, BigInt(f.priority ?? 0));
  view.setUint32(17, f.gas ?? 0);
  tx[21] = f.unordered === true ? 1 : 0;
  tx.fill((f.tag ?? 0) & 0xff, HEADER_BYTES);
  return tx;
}

export interface DecodedFakeTx {
  readonly sender: number;
  readonly nonce: number;
  readonly priority: bigint;
  readonly gas: number;
  readonly unordered: boolean;
}

export function decodeTx(tx: Uint8Array): DecodedFakeTx | undefined {
  if (tx.byteLength < HEADER_BYTES || tx[0] !== 1) return undefined;
  const view = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  return {
    sender: view.getUint32(1),
    nonce: view.getUint32(5),
    priority: view.getBigUint64(9),
    gas: view.getUint32(17),
    unordered: tx[21] === 1,
  };
}

/** 20-byte address of a fake sender id. */
export function senderAddress(id: number): Uint8Array {
  const a = new Uint8Array(20);
  new DataView(a.buffer).setUint32(16, id);
  return a;
}

export interface CheckCall {
  readonly kind: CheckTxKind;
  readonly sender: number;
  readonly nonce: number;
}

/**
 * An in-memory application: 'new' accepts nonce ≥ the sender's committed next
 * nonce, 'recheck' the same against the state after commits. `banned` senders
 * fail both. Optional per-call delays (ms, or a function) exercise concurrency.
 */
export class FakeApp {
  readonly nextNonce = new Map<number, number>();
  readonly banned = new Set<number>();
  readonly calls: CheckCall[] = [];
  delay: ((tx: Uint8Array, kind: CheckTxKind) => number) | undefined;
  /** Number of checkTx calls currently awaiting. */
  inFlight = 0;
  /** Highest number of 'new' calls in flight while a 'recheck' was in flight (must stay 0). */
  overlap = 0;
  #recheckInFlight = 0;
  #newInFlight = 0;

  /** Marks `tx` as executed: advances its sender's next nonce. */
  commit(txs: readonly Uint8Array[]): void {
    for (const tx of txs) {
      const d = decodeTx(tx);
      if (d === undefined || d.unordered) continue;
      const next = this.nextNonce.get(d.sender) ?? 0;
      if (d.nonce >= next) this.nextNonce.set(d.sender, d.nonce + 1);
    }
  }

  /** Decides against the state at call time, then (optionally) takes a while to answer. */
  readonly checkTx = async (tx: Uint8Array, kind: CheckTxKind): Promise<CheckTxResult> => {
    const d = decodeTx(tx);
    this.calls.push({ kind, sender: d?.sender ?? -1, nonce: d?.nonce ?? -1 });
    const result = this.#decide(d);
    const wait = this.delay?.(tx, kind) ?? 0;
    if (wait > 0) {
      this.inFlight += 1;
      if (kind === 'recheck') this.#recheckInFlight += 1;
      else this.#newInFlight += 1;
      if (this.#recheckInFlight > 0 && this.#newInFlight > 0) this.overlap += 1;
      await new Promise((resolve) => setTimeout(resolve, wait));
      this.inFlight -= 1;
      if (kind === 'recheck') this.#recheckInFlight -= 1;
      else this.#newInFlight -= 1;
    }
    return result;
  };

  #decide(d: DecodedFakeTx | undefined): CheckTxResult {
    if (d === undefined) return { code: 'TX_DECODE_FAILED', log: 'not a fake tx' };
    if (this.banned.has(d.sender)) return { code: 'SENDER_BANNED', log: `sender ${d.sender} is banned` };
    const next = this.nextNonce.get(d.sender) ?? 0;
    if (!d.unordered && d.nonce < next) {
      return { code: 'NONCE_TOO_LOW', log: `nonce ${d.nonce} < next nonce ${next}` };
    }
    if (d.unordered) return { code: 'OK', log: '', priority: d.priority, gasWanted: d.gas };
    return {
      code: 'OK',
      log: '',
      sender: senderAddress(d.sender),
      nonce: d.nonce,
      priority: d.priority,
      gasWanted: d.gas,
    };
  }
}

/** Decoded (sender, nonce) pairs of a list of fake txs, for readable assertions. */
export function ids(txs: readonly Uint8Array[]): string[] {
  return txs.map((tx) => {
    const d = decodeTx(tx);
    return d === undefined ? '?' : `${d.sender}:${d.nonce}`;
  });
}
