import { verify } from '@synod/crypto';
import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { SignatureCache } from '../src/signature-cache.js';
import { StatelessCache } from '../src/stateless-cache.js';
import { checkStateless, type ExecContext } from '../src/tx-exec.js';
import { addr, CHAIN_ID, key, MIN_FEE, openLedger, runBlock, transfer } from './helpers.js';

const alice = key(10);
const bob = key(11);

/** A ledger whose signature checks are counted (and not cached, so each check verifies). */
async function countingLedger() {
  let verifies = 0;
  const { ledger } = await openLedger({
    signatureCacheSize: 0,
    verifySignature: (pk, msg, sig) => {
      verifies += 1;
      return verify(pk, msg, sig);
    },
  });
  return { ledger, verifies: () => verifies };
}

/** A context for checkStateless alone: the test chain's parameters, no signature cache. */
function execContext(stateless: StatelessCache, check: ExecContext['verify']): ExecContext {
  return {
    app: { chainId: CHAIN_ID, minFee: MIN_FEE, maxTxBytes: 4_096, initialHeight: 1 },
    params: DEFAULT_CONSENSUS_PARAMS,
    height: 1,
    timeMs: 0,
    signatures: new SignatureCache(0),
    verify: check,
    stateless,
  };
}

describe('checkTx: stateless results by transaction bytes', () => {
  it("the mempool's recheck of the same bytes redoes only the checks against state", async () => {
    const { ledger, verifies } = await countingLedger();
    const txs = [0, 1, 2].map((nonce) => transfer(alice, addr(bob), 5n, { nonce }));
    for (const tx of txs) expect((await ledger.checkTx(tx, 'new')).code).toBe('OK');
    expect(verifies()).toBe(3);
    await runBlock(ledger, [transfer(alice, addr(bob), 5n, { nonce: 0 })]);
    const after = verifies();
    // Nonce 0 is now used (a state answer); 1 and 2 still pass: no signature checked again.
    const codes = [];
    for (const tx of txs) codes.push((await ledger.checkTx(tx, 'recheck')).code);
    expect(codes).toEqual(['TX_BAD_NONCE', 'OK', 'OK']);
    expect(verifies()).toBe(after);
    // An equal copy (a block's bytes as a non-proposer decodes them) is the same transaction.
    expect((await ledger.checkTx(new Uint8Array(txs[1] as Uint8Array), 'recheck')).code).toBe('OK');
    expect(verifies()).toBe(after);
  });

  it('is bounded: the least recently used transaction is checked in full again; size 0 disables it', async () => {
    for (const [size, expected] of [
      [2, 1],
      [0, 3],
    ] as const) {
      let verifies = 0;
      const { ledger } = await openLedger({
        signatureCacheSize: 0,
        statelessCacheSize: size,
        verifySignature: (pk, msg, sig) => {
          verifies += 1;
          return verify(pk, msg, sig);
        },
      });
      // Future nonces: no dry run, one stateless check each.
      const [a, b, c] = [5, 6, 7].map((nonce) => transfer(alice, addr(bob), 5n, { nonce })) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      for (const tx of [a, b, c]) await ledger.checkTx(tx, 'new');
      verifies = 0;
      await ledger.checkTx(c, 'recheck'); // kept (size 2): b and c
      await ledger.checkTx(a, 'recheck'); // evicted: checked again
      await ledger.checkTx(c, 'recheck');
      expect(verifies, `statelessCacheSize ${size}`).toBe(expected);
    }
  });

  it('bytes changed after their check are checked again, never answered from the cache', async () => {
    const { ledger, verifies } = await countingLedger();
    const tx = transfer(alice, addr(bob), 5n, { nonce: 0 });
    expect((await ledger.checkTx(tx, 'new')).code).toBe('OK');
    tx[tx.length - 1] = (tx[tx.length - 1] as number) ^ 1; // the signature's last byte
    expect((await ledger.checkTx(tx, 'recheck')).code).toBe('TX_BAD_SIGNATURE');
    expect(verifies()).toBe(2);
  });

  it('a parameter the checks read, changed, makes them run again', () => {
    const cache = new StatelessCache(16);
    let verifies = 0;
    const base = execContext(cache, (pk, msg, sig) => {
      verifies += 1;
      return verify(pk, msg, sig);
    });
    const tx = transfer(alice, addr(bob), 5n, { nonce: 0, fee: MIN_FEE });
    expect(checkStateless(tx, base).ok).toBe(true);
    expect(checkStateless(tx, base).ok).toBe(true);
    expect(verifies).toBe(1);
    const higherFloor = { ...base, app: { ...base.app, minFee: MIN_FEE + 1n } };
    const r = checkStateless(tx, higherFloor);
    expect(r.ok ? 'OK' : r.code).toBe('TX_FEE_TOO_LOW');
    const lowerGasCap = {
      ...base,
      params: { ...base.params, block: { ...base.params.block, maxGas: 1_000 } },
    };
    const g = checkStateless(tx, lowerGasCap);
    expect(g.ok ? 'OK' : g.code).toBe('TX_GAS_TOO_HIGH');
    const otherChain = { ...base, app: { ...base.app, chainId: 'other-chain' } };
    const c = checkStateless(tx, otherChain);
    expect(c.ok ? 'OK' : c.code).toBe('TX_WRONG_CHAIN');
    // Back on the original parameters the checks run again (the entry was dropped).
    expect(checkStateless(tx, base).ok).toBe(true);
    expect(verifies).toBe(2);
  });
});

describe('StatelessCache: bounded in bytes', () => {
  it('large transactions cannot make it hold more than its byte budget', () => {
    const memo = new Uint8Array(256).fill(7); // the largest memo
    const txs = [0, 1, 2, 3].map((nonce) => transfer(alice, addr(bob), 5n, { nonce, memo }));
    // An entry counts twice the transaction's size plus 1 KB: a budget for two.
    const budget = 2 * (2 * (txs[0] as Uint8Array).length + 1024) + 10;
    const cache = new StatelessCache(1_000, budget);
    const ctx = execContext(cache, verify);
    for (const tx of txs) expect(checkStateless(tx, ctx).ok).toBe(true);
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBeLessThanOrEqual(budget);
    // The newest two are the ones kept.
    expect(cache.has(txs[3] as Uint8Array, ctx)).toBe(true);
    expect(cache.has(txs[0] as Uint8Array, ctx)).toBe(false);
    // One transaction above the whole budget is not kept at all.
    const tiny = new StatelessCache(1_000, 1_000);
    expect(checkStateless(txs[0] as Uint8Array, { ...ctx, stateless: tiny }).ok).toBe(true);
    expect(tiny.size).toBe(0);
  });
});

describe('checkTx: pending fees by sender', () => {
  it('a replacement at the same nonce counts its own fee, not the old one', async () => {
    const { ledger } = await openLedger();
    const FEE = 300_000_000n; // the balance (1_000_000_000) pays three
    for (const nonce of [0, 1]) {
      expect((await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce, fee: FEE }), 'new')).code).toBe(
        'OK',
      );
    }
    // Nonce 1 replaced by a cheap one: the pending fees are FEE + MIN_FEE, room for two more.
    expect(
      (await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce: 1, fee: MIN_FEE }), 'new')).code,
    ).toBe('OK');
    const codes = [];
    for (const nonce of [2, 3, 4]) {
      codes.push((await ledger.checkTx(transfer(alice, addr(bob), 1n, { nonce, fee: FEE }), 'new')).code);
    }
    expect(codes).toEqual(['OK', 'OK', 'TX_INSUFFICIENT_FUNDS']);
  });
});
