import { DEFAULT_MESSAGE_LIMITS, topicBytesMax } from '@synod/p2p';
import { describe, expect, it } from 'vitest';
import { checkByzantineMode, garbageMessages } from '../../src/byzantine/modes.js';

describe('Byzantine test modes', () => {
  it('are refused on a chain whose id does not start with test-', () => {
    expect(() => checkByzantineMode('equivocate', 'synod-1')).toThrow(/test chains only/);
    expect(checkByzantineMode('equivocate', 'test-1')).toBe('equivocate');
  });

  it('garbage: every topic gets random bytes and one message one byte over its limit; megabyte proposals one round in ten', () => {
    const limits = DEFAULT_MESSAGE_LIMITS;
    let bytes = 0;
    for (let round = 1; round <= 10; round++) {
      const batch = garbageMessages(limits, round, Uint8Array.of(1, 2, 3, 4));
      for (const topic of ['proposals', 'votes', 'evidence', 'txs'] as const) {
        const mine = batch.filter((m) => m.topic === topic);
        expect(mine.some((m) => m.data.length <= 512)).toBe(true);
        const over = mine.filter((m) => m.data.length === topicBytesMax(topic, limits) + 1);
        expect(over).toHaveLength(topic === 'proposals' && round % 10 !== 0 ? 0 : 1);
        // Nothing larger than one byte over the limit (64 MiB messages every 500 ms kept the sender from starting).
        for (const m of mine) expect(m.data.length).toBeLessThanOrEqual(topicBytesMax(topic, limits) + 1);
      }
      bytes += batch.reduce((a, m) => a + m.data.length, 0);
    }
    // Ten rounds (5 s): one oversize proposal and small messages.
    expect(bytes).toBeLessThan(topicBytesMax('proposals', limits) + 1024 * 1024);
  });
});
