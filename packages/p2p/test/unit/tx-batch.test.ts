/**
 * Transaction batches (the `txs` topic, wire version 2): the codec's bounds,
 * the batch validation's verdicts, and the publisher's batching.
 */
import { keyPairFromSeed, type VerifyItem, verify } from '@synod/crypto';
import type { Clock } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { decodeTxBatch, encodeTxBatch, TxBatchDecodeError, txBatchBytes } from '../../src/codec/tx-batch.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from '../../src/limits.js';
import { TxBatcher } from '../../src/tx-batcher.js';
import { type GossipErrorCode, GossipValidationError } from '../../src/validation/gossip-error.js';
import {
  DEFAULT_HEIGHT_WINDOW,
  type TxPrecheckVerdict,
  type ValidationContext,
  type ValidationParams,
  validateGossipMessage,
  validateTxBatch,
} from '../../src/validation/validate.js';
import { CHAIN_ID, makeTx, seed } from '../fixtures.js';

const key = keyPairFromSeed(seed(51, 1));
const txs = Array.from({ length: 5 }, (_, i) => makeTx(key, i + 1));
const txBytes = txs.map((t) => t.bytes);

function params(
  overrides: Partial<ValidationContext> = {},
  limits: Partial<MessageLimits> = {},
): ValidationParams {
  return {
    ctx: {
      chainId: CHAIN_ID,
      currentHeight: () => 1,
      validatorSetAt: () => undefined,
      proposerIndex: () => undefined,
      ...overrides,
    },
    limits: { ...DEFAULT_MESSAGE_LIMITS, ...limits },
    window: DEFAULT_HEIGHT_WINDOW,
  };
}

function verdictOf(fn: () => unknown): { action: string; reason: GossipErrorCode } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GossipValidationError);
    const e = err as GossipValidationError;
    return { action: e.action, reason: e.reason };
  }
  throw new Error('expected a GossipValidationError');
}

async function asyncVerdictOf(p: unknown): Promise<{ action: string; reason: GossipErrorCode }> {
  const err = await Promise.resolve(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GossipValidationError);
  const e = err as GossipValidationError;
  return { action: e.action, reason: e.reason };
}

/** Raw framing, to build batches the encoder refuses to write. */
/** A copy of a signed transaction with the last byte of its signature flipped. */
function forgedCopy(tx: Uint8Array): Uint8Array {
  const forged = new Uint8Array(tx);
  forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
  return forged;
}

function frame(count: number, items: readonly Uint8Array[], trailing: readonly number[] = []): Uint8Array {
  const parts: number[] = [count >> 8, count & 0xff];
  for (const it of items) parts.push(it.length >> 8, it.length & 0xff, ...it);
  return new Uint8Array([...parts, ...trailing]);
}

function problemOf(data: Uint8Array, limits = DEFAULT_MESSAGE_LIMITS): string {
  try {
    decodeTxBatch(data, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(TxBatchDecodeError);
    expect((err as TxBatchDecodeError).code).toBe('DECODE_INVALID_BYTES');
    return (err as TxBatchDecodeError).problem;
  }
  return 'decoded';
}

describe('tx batch codec', () => {
  it('round-trips: u16 count, then u16 length and bytes per transaction', () => {
    const batch = encodeTxBatch(txBytes);
    expect(batch.length).toBe(txBatchBytes(txBytes.map((t) => t.length)));
    expect(batch.length).toBe(2 + txBytes.reduce((n, t) => n + 2 + t.length, 0));
    expect([batch[0], batch[1]]).toEqual([0, 5]);
    expect(decodeTxBatch(batch, DEFAULT_MESSAGE_LIMITS).map((t) => [...t])).toEqual(
      txBytes.map((t) => [...t]),
    );
    expect(frame(5, txBytes)).toEqual(batch);
  });

  it('refuses to encode an empty batch', () => {
    expect(() => encodeTxBatch([])).toThrow(/0 transactions/);
  });

  it('bounds bytes first, then the count, then each length', () => {
    const limits = { ...DEFAULT_MESSAGE_LIMITS, txBatchTxsMax: 4, txBatchBytesMax: 4_000 };
    expect(problemOf(encodeTxBatch(txBytes), limits)).toBe('too-large'); // 5 > 4 transactions
    expect(problemOf(encodeTxBatch(txBytes.slice(0, 4)), limits)).toBe('decoded');
    // more bytes than a batch may have, whatever the header says
    expect(problemOf(new Uint8Array(4_001), limits)).toBe('too-large');
    // the header claims 65,535 transactions in a few bytes: refused before any is read
    expect(problemOf(frame(0xffff, [txBytes[0] as Uint8Array]))).toBe('too-large');
  });

  it('refuses malformed framing and repeated transactions', () => {
    const [a, b] = txBytes as [Uint8Array, Uint8Array];
    expect(problemOf(new Uint8Array([0]))).toBe('malformed'); // shorter than its header
    expect(problemOf(frame(0, []))).toBe('malformed'); // no transactions
    expect(problemOf(frame(2, [a]))).toBe('malformed'); // fewer than announced
    expect(problemOf(frame(1, [a], [0]))).toBe('malformed'); // trailing bytes
    expect(problemOf(frame(1, [new Uint8Array(0)]))).toBe('malformed'); // an empty transaction
    expect(problemOf(frame(1, [new Uint8Array(DEFAULT_MESSAGE_LIMITS.txBytesMax + 1)]))).toBe('malformed');
    const truncated = frame(1, [a]).subarray(0, a.length); // the length says more than there is
    expect(problemOf(truncated)).toBe('malformed');
    expect(problemOf(frame(3, [a, b, a]))).toBe('duplicate');
  });
});

describe('validateTxBatch', () => {
  const batch = encodeTxBatch(txBytes);

  it('[ACCEPT] every transaction, decoded once, in order; validateGossipMessage("txs") is this path', () => {
    const v = validateTxBatch(batch, params());
    expect(v).not.toBeInstanceOf(Promise);
    const out = v as Awaited<typeof v>;
    expect(out.rejected).toBe(0);
    expect(out.ignored).toBe(0);
    expect(out.txs.map((t) => t.tx)).toEqual(txs.map((t) => t.tx));
    expect(out.txs.map((t) => [...t.bytes])).toEqual(txBytes.map((t) => [...t]));
    expect(validateGossipMessage('txs', batch, params())).toEqual(out);
  });

  it('[REJECT] bounds and framing: MESSAGE_TOO_LARGE, DECODE_FAILED', () => {
    expect(
      verdictOf(() => validateTxBatch(batch, params({}, { txBatchBytesMax: batch.length - 1 }))),
    ).toEqual({
      action: 'REJECT',
      reason: 'MESSAGE_TOO_LARGE',
    });
    expect(verdictOf(() => validateTxBatch(batch, params({}, { txBatchTxsMax: 4 })))).toEqual({
      action: 'REJECT',
      reason: 'MESSAGE_TOO_LARGE',
    });
    expect(verdictOf(() => validateTxBatch(new Uint8Array([0, 1, 0]), params()))).toEqual({
      action: 'REJECT',
      reason: 'DECODE_FAILED',
    });
    const [a] = txBytes as [Uint8Array];
    expect(verdictOf(() => validateTxBatch(frame(2, [a, a]), params()))).toEqual({
      action: 'REJECT',
      reason: 'DECODE_FAILED',
    });
    // a transaction that does not decode
    expect(verdictOf(() => validateTxBatch(encodeTxBatch([a, new Uint8Array([1, 2, 3])]), params()))).toEqual(
      {
        action: 'REJECT',
        reason: 'DECODE_FAILED',
      },
    );
  });

  it('[REJECT] one forged or foreign transaction rejects the whole batch, before any precheck', () => {
    const forged = forgedCopy(txBytes[2] as Uint8Array);
    let prechecked = 0;
    const p = params({
      txPrecheck: () => {
        prechecked++;
        return 'ACCEPT';
      },
    });
    const withForged = encodeTxBatch([txBytes[0] as Uint8Array, txBytes[1] as Uint8Array, forged]);
    expect(verdictOf(() => validateTxBatch(withForged, p))).toEqual({
      action: 'REJECT',
      reason: 'INVALID_SIGNATURE',
    });
    const foreign = makeTx(key, 9, 'other-chain').bytes;
    expect(verdictOf(() => validateTxBatch(encodeTxBatch([txBytes[0] as Uint8Array, foreign]), p))).toEqual({
      action: 'REJECT',
      reason: 'WRONG_CHAIN',
    });
    expect(prechecked).toBe(0);
  });

  it('stops at the first bad signature: the transactions after it are not verified', () => {
    const forged = forgedCopy(txBytes[0] as Uint8Array);
    let verified = 0;
    const p = params({
      verifySignature: () => {
        verified++;
        return verified > 1; // the first (the forged one) fails
      },
    });
    expect(verdictOf(() => validateTxBatch(encodeTxBatch([forged, ...txBytes.slice(1)]), p)).reason).toBe(
      'INVALID_SIGNATURE',
    );
    expect(verified).toBe(1);
  });

  it('with verifySignatures: the signatures checked together, later, with the same verdicts', async () => {
    const calls: number[] = [];
    const verifySignatures = async (items: readonly VerifyItem[]) => {
      calls.push(items.length);
      return items.map((it) => verify(it.publicKey, it.message, it.signature));
    };
    let syncVerified = 0;
    const p = (extra: Partial<ValidationContext> = {}) =>
      params({
        verifySignatures,
        verifySignature: (...a) => {
          syncVerified++;
          return verify(...a);
        },
        ...extra,
      });
    // accepted: one call for the batch, no signature checked synchronously
    const ok = validateTxBatch(batch, p());
    expect(ok).toBeInstanceOf(Promise);
    expect((await ok).txs.map((t) => t.tx)).toEqual(txs.map((t) => t.tx));
    expect(calls).toEqual([5]);
    expect(syncVerified).toBe(0);
    // a forged one rejects the batch, before any precheck
    let prechecked = 0;
    const counting = p({
      txPrecheck: () => {
        prechecked++;
        return 'ACCEPT';
      },
    });
    const forged = forgedCopy(txBytes[2] as Uint8Array);
    const withForged = encodeTxBatch([txBytes[0] as Uint8Array, txBytes[1] as Uint8Array, forged]);
    expect(await asyncVerdictOf(validateTxBatch(withForged, counting))).toEqual({
      action: 'REJECT',
      reason: 'INVALID_SIGNATURE',
    });
    expect(prechecked).toBe(0);
    // the precheck runs after the signatures, and its verdicts count as before
    const out = await validateTxBatch(
      batch,
      p({ txPrecheck: (tx) => (Number(tx.body.nonce) === 2 ? 'REJECT' : 'ACCEPT') }),
    );
    expect({ admitted: out.txs.length, rejected: out.rejected }).toEqual({ admitted: 4, rejected: 1 });
    // a transaction failing before its signature: the synchronous path, the rules in order
    const foreign = makeTx(key, 9, 'other-chain').bytes;
    calls.length = 0;
    expect(
      verdictOf(() => validateTxBatch(encodeTxBatch([forgedCopy(txBytes[0] as Uint8Array), foreign]), p())),
    ).toEqual({
      action: 'REJECT',
      reason: 'INVALID_SIGNATURE',
    });
    expect(verdictOf(() => validateTxBatch(encodeTxBatch([txBytes[0] as Uint8Array, foreign]), p()))).toEqual(
      {
        action: 'REJECT',
        reason: 'WRONG_CHAIN',
      },
    );
    expect(calls).toEqual([]);
    // an answer list of the wrong length is not an acceptance
    const short = params({ verifySignatures: async () => [true] });
    expect(await asyncVerdictOf(validateTxBatch(batch, short))).toEqual({
      action: 'REJECT',
      reason: 'INVALID_SIGNATURE',
    });
  });

  it('admits what the precheck accepts; counts what it rejects or ignores', async () => {
    const verdicts: TxPrecheckVerdict[] = ['ACCEPT', 'REJECT', 'IGNORE', 'ACCEPT', 'IGNORE'];
    const byNonce = (v: readonly TxPrecheckVerdict[]) => (tx: { body: { nonce: bigint | number } }) =>
      v[Number(tx.body.nonce) - 1] as TxPrecheckVerdict;
    const sync = validateTxBatch(batch, params({ txPrecheck: byNonce(verdicts) }));
    const out = sync as Awaited<typeof sync>;
    expect(out.txs.map((t) => Number(t.tx.body.nonce))).toEqual([1, 4]);
    expect({ rejected: out.rejected, ignored: out.ignored }).toEqual({ rejected: 1, ignored: 2 });
    // an asynchronous precheck gives the same
    const later = await validateTxBatch(batch, params({ txPrecheck: async (tx) => byNonce(verdicts)(tx) }));
    expect(later).toEqual(out);
  });

  it('[REJECT] TX_REJECTED / [IGNORE] TX_IGNORED when the precheck admits none', async () => {
    const all = (v: TxPrecheckVerdict) => params({ txPrecheck: () => v });
    expect(verdictOf(() => validateTxBatch(batch, all('IGNORE')))).toEqual({
      action: 'IGNORE',
      reason: 'TX_IGNORED',
    });
    const mixed = params({ txPrecheck: (tx) => (Number(tx.body.nonce) === 1 ? 'REJECT' : 'IGNORE') });
    expect(verdictOf(() => validateTxBatch(batch, mixed))).toEqual({
      action: 'REJECT',
      reason: 'TX_REJECTED',
    });
    expect(
      await asyncVerdictOf(
        validateTxBatch(batch, params({ txPrecheck: async (): Promise<TxPrecheckVerdict> => 'REJECT' })),
      ),
    ).toEqual({
      action: 'REJECT',
      reason: 'TX_REJECTED',
    });
  });
});

/** A clock whose timers run when the test says. */
function manualClock(): Clock & { fire(): void; pending(): number } {
  let timers: (() => void)[] = [];
  return {
    now: () => 0,
    setTimer(_ms, fn) {
      timers.push(fn);
      return () => {
        timers = timers.filter((t) => t !== fn);
      };
    },
    fire() {
      const due = timers;
      timers = [];
      for (const fn of due) fn();
    },
    pending: () => timers.length,
  };
}

describe('TxBatcher', () => {
  function batcher(maxTxs: number, maxBytes: number) {
    const clock = manualClock();
    const published: Uint8Array[][] = [];
    const b = new TxBatcher({ windowMs: 20, maxTxs, maxBytes }, clock, (batch, count) => {
      const decoded = decodeTxBatch(batch, {
        txBytesMax: 1_000,
        txBatchTxsMax: 1_000,
        txBatchBytesMax: 1 << 20,
      });
      expect(decoded).toHaveLength(count);
      published.push(decoded);
    });
    return { b, clock, published };
  }

  it('publishes one batch per window', () => {
    const { b, clock, published } = batcher(100, 64 * 1024);
    for (const t of txBytes) b.add(t);
    expect(published).toHaveLength(0);
    expect(b.size).toBe(5);
    expect(clock.pending()).toBe(1); // one timer for the batch, not one per transaction
    clock.fire();
    expect(published).toHaveLength(1);
    expect(published[0]?.map((t) => [...t])).toEqual(txBytes.map((t) => [...t]));
    expect(b.size).toBe(0);
  });

  it('publishes a full batch at once (count or bytes), the rest with the window', () => {
    const byCount = batcher(2, 64 * 1024);
    for (const t of txBytes) byCount.b.add(t);
    expect(byCount.published.map((p) => p.length)).toEqual([2, 2]);
    byCount.clock.fire();
    expect(byCount.published.map((p) => p.length)).toEqual([2, 2, 1]);

    const len = (txBytes[0] as Uint8Array).length;
    // room for two transactions: the third does not fit and sends the first two
    const byBytes = batcher(100, txBatchBytes([len, len]) + 1);
    for (const t of txBytes.slice(0, 3)) byBytes.b.add(t);
    expect(byBytes.published.map((p) => p.length)).toEqual([2]);
    byBytes.clock.fire();
    expect(byBytes.published.map((p) => p.length)).toEqual([2, 1]);
  });

  it('flush publishes what waits and cancels the timer; clear drops it', () => {
    const { b, clock, published } = batcher(100, 64 * 1024);
    expect(b.flush()).toBe(0);
    b.add(txBytes[0] as Uint8Array);
    expect(b.flush()).toBe(1);
    expect(clock.pending()).toBe(0);
    b.add(txBytes[1] as Uint8Array);
    b.clear();
    clock.fire();
    expect(published).toHaveLength(1);
    expect(b.size).toBe(0);
  });
});
