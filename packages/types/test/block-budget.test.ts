import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_TX_OVERHEAD_BYTES, blockTxBytesBudget, encodeBlock } from '../src/index.js';
import * as arb from './arbitraries.js';

describe('blockTxBytesBudget', () => {
  it('a block filled to the budget encodes to exactly header + commit + evidence + txs with their overhead', () => {
    fc.assert(
      fc.property(arb.block, fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (b, txs) => {
        const empty = { ...b, txs: [] };
        const full = { ...b, txs };
        const txBytes = txs.reduce((a, tx) => a + tx.length + BLOCK_TX_OVERHEAD_BYTES, 0);
        const maxBytes = encodeBlock(empty).length + txBytes;
        // what the budget leaves is exactly what the transactions take in the encoding
        expect(blockTxBytesBudget(maxBytes, empty)).toBe(txBytes);
        expect(encodeBlock(full).length).toBe(maxBytes);
      }),
      { numRuns: 50 },
    );
  });

  it('is never negative', () => {
    const [b] = fc.sample(arb.block, 1);
    if (b === undefined) throw new Error('no sample');
    expect(blockTxBytesBudget(0, { ...b, txs: [] })).toBe(0);
  });
});
