import {
  DEFAULT_CONSENSUS_PARAMS,
  EVIDENCE_BYTES_MAX,
  LIMITS,
  SIGNED_TX_BYTES_MAX,
  SIGNED_VOTE_BYTES,
  SynodError,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  createNetwork,
  DEFAULT_MESSAGE_LIMITS,
  DEFAULT_QUEUE_OPTIONS,
  GOSSIP_TOPICS,
} from '../../src/index.js';
import { PROPOSAL_ENVELOPE_OVERHEAD_BYTES, topicBytesMax } from '../../src/limits.js';
import { makeValidators, testNodeOptions } from '../fixtures.js';

const vals = makeValidators(4);
const withMaxBytes = (maxBytes: number) => ({
  ...DEFAULT_CONSENSUS_PARAMS,
  block: { ...DEFAULT_CONSENSUS_PARAMS.block, maxBytes },
});

describe('the proposal size limit follows consensus params (#11.23)', () => {
  it('is block.maxBytes of the params given at creation, then of setConsensusParams', async () => {
    const net = await createNetwork(
      testNodeOptions(0, vals, { consensusParams: withMaxBytes(300_000), limits: { blockBytesMax: 1 } }),
    );
    expect(net.limits.blockBytesMax).toBe(300_000);
    net.setConsensusParams(withMaxBytes(1_000_000));
    expect(net.limits.blockBytesMax).toBe(1_000_000);
    expect(net.limits.voteBytesMax).toBe(DEFAULT_MESSAGE_LIMITS.voteBytesMax);
  });

  it('defaults to limits.blockBytesMax without params; refuses params outside the wire bound', async () => {
    const net = await createNetwork(testNodeOptions(1, vals));
    expect(net.limits.blockBytesMax).toBe(DEFAULT_MESSAGE_LIMITS.blockBytesMax);
    expect(() => net.setConsensusParams(withMaxBytes(LIMITS.blockBytesMax + 1))).toThrow(SynodError);
    expect(() => net.setConsensusParams(withMaxBytes(0))).toThrow(SynodError);
    expect(net.limits.blockBytesMax).toBe(DEFAULT_MESSAGE_LIMITS.blockBytesMax);
  });
});

describe('per-topic size bounds are the real maxima of each message kind (#11.14)', () => {
  it('vote, evidence and tx bounds are their largest encodings; tx batches 64 KiB; proposals follow block.maxBytes', () => {
    expect(topicBytesMax('votes', DEFAULT_MESSAGE_LIMITS)).toBe(SIGNED_VOTE_BYTES);
    expect(topicBytesMax('evidence', DEFAULT_MESSAGE_LIMITS)).toBe(EVIDENCE_BYTES_MAX);
    // the txs topic carries batches: up to 64 KiB, each transaction at most its largest encoding
    expect(topicBytesMax('txs', DEFAULT_MESSAGE_LIMITS)).toBe(64 * 1024);
    expect(DEFAULT_MESSAGE_LIMITS.txBytesMax).toBe(SIGNED_TX_BYTES_MAX);
    expect(DEFAULT_MESSAGE_LIMITS.txBatchTxsMax).toBe(256);
    expect(topicBytesMax('proposals', DEFAULT_MESSAGE_LIMITS)).toBe(
      DEFAULT_CONSENSUS_PARAMS.block.maxBytes + PROPOSAL_ENVELOPE_OVERHEAD_BYTES,
    );
    // a transaction is at most ~0.5 KB and evidence ~0.3 KB, not 1 MiB / 64 KiB
    expect(SIGNED_TX_BYTES_MAX).toBeLessThanOrEqual(512);
    expect(EVIDENCE_BYTES_MAX).toBeLessThanOrEqual(320);
  });

  it('every queue can hold at least one largest message of its topic per peer', () => {
    for (const t of GOSSIP_TOPICS) {
      const o = DEFAULT_QUEUE_OPTIONS.topics[t];
      expect(o.maxBytes * DEFAULT_QUEUE_OPTIONS.peerShare).toBeGreaterThanOrEqual(
        topicBytesMax(t, DEFAULT_MESSAGE_LIMITS),
      );
    }
  });
});
