import { type Block, encodeBlock, isSynodError, LIMITS } from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWalEntry, encodeWalEntry, type WalEntry } from '../../src/index.js';
import { makeBlock } from '../engine/fakes.js';

const hash = new Uint8Array(32).fill(7);
const address = new Uint8Array(20).fill(3);
const signature = new Uint8Array(64).fill(5);
const block = makeBlock(4, 'A');
const proposal = {
  height: 4,
  round: 2,
  polRound: 1,
  blockHash: hash,
  timestampMs: 1_700_000_000_123,
  proposerAddress: address,
};
const vote = { type: 'precommit' as const, height: 4, round: 2, blockHash: null, validatorAddress: address };

const ENTRIES: WalEntry[] = [
  { kind: 'proposal', proposal: { proposal, signature }, block, valid: true },
  { kind: 'proposal', proposal: { proposal, signature }, block, valid: false },
  { kind: 'proposal', proposal: { proposal, signature }, block: null, valid: null },
  { kind: 'vote', vote: { vote, signature } },
  { kind: 'vote', vote: { vote: { ...vote, type: 'prevote', blockHash: hash }, signature } },
  { kind: 'block', block, valid: false },
  { kind: 'timeout', step: 'prevote', height: 2 ** 40, round: 17 },
  { kind: 'value', height: 4, round: 3, block },
  { kind: 'own-proposal', proposal },
  { kind: 'own-vote', vote },
  { kind: 'own-signature', step: 'precommit', height: 4, round: 2, signature },
];

describe('WAL records', () => {
  it('round-trip every kind', () => {
    for (const e of ENTRIES) expect(decodeWalEntry(encodeWalEntry(e))).toEqual(e);
  });

  it('a proposal with the largest block the codec admits fits in one WAL record (LIMITS.walRecordBytesMax) and reads back', () => {
    const base = encodeBlock({ ...block, txs: [] }).length;
    const txs: Uint8Array[] = [];
    let room = LIMITS.blockBytesMax - base;
    while (room > 0) {
      const len = Math.min(LIMITS.txBytesMax, room - 4); // each tx costs a 4-byte SSZ offset
      const tx = new Uint8Array(len);
      tx[0] = txs.length;
      txs.push(tx);
      room -= 4 + len;
    }
    const largest: Block = { ...block, txs };
    expect(encodeBlock(largest).length).toBe(LIMITS.blockBytesMax);
    const entry: WalEntry = {
      kind: 'proposal',
      proposal: { proposal, signature },
      block: largest,
      valid: true,
    };
    const record = encodeWalEntry(entry);
    expect(record.length).toBeLessThanOrEqual(LIMITS.walRecordBytesMax);
    const back = decodeWalEntry(record);
    expect(back.kind === 'proposal' && back.block?.txs.map((t) => [t.length, t[0]])).toEqual(
      txs.map((t) => [t.length, t[0]]),
    );
  });

  it('reject malformed records with WAL_CORRUPT', () => {
    const good = encodeWalEntry({ kind: 'timeout', step: 'propose', height: 1, round: 0 });
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(2, 4),
      Uint8Array.of(1, 99),
      good.slice(0, good.length - 1),
      Uint8Array.of(...good, 0),
      Uint8Array.of(1, 4, 9, ...good.slice(3)),
    ];
    for (const b of bad) {
      let caught: unknown;
      try {
        decodeWalEntry(b);
      } catch (e) {
        caught = e;
      }
      expect(isSynodError(caught, 'WAL_CORRUPT'), `${b}`).toBe(true);
    }
  });

  it('random bytes only ever fail with WAL_CORRUPT', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: ENTRIES.length - 1 }),
        fc.nat(),
        (noise, pick, at) => {
          const base = encodeWalEntry(ENTRIES[pick] as WalEntry);
          const mutated = Uint8Array.from(base);
          if (noise.length > 0) mutated[at % mutated.length] = noise[0] as number;
          for (const input of [noise, Uint8Array.of(1, ...noise), mutated]) {
            try {
              decodeWalEntry(input);
            } catch (e) {
              expect(isSynodError(e, 'WAL_CORRUPT')).toBe(true);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
