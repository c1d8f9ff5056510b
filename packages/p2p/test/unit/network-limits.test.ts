import { DEFAULT_CONSENSUS_PARAMS, LIMITS, SynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { createNetwork, DEFAULT_MESSAGE_LIMITS } from '../../src/index.js';
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
