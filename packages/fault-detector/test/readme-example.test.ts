import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { newSigningInfo, recordSignature } from '../src/index.js';

describe('README example', () => {
  it('trips downtime for a validator that signs one block in three', () => {
    let info = newSigningInfo(DEFAULT_CONSENSUS_PARAMS.slashing.signedBlocksWindow);
    let tripped = false;
    for (let h = 0; h < 100; h++) {
      const r = recordSignature(info, h % 3 === 0, DEFAULT_CONSENSUS_PARAMS);
      info = r.info;
      tripped ||= r.downtime;
    }
    expect(info.missedCount).toBe(66);
    expect(tripped).toBe(true);
  });
});
