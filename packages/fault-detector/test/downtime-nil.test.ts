import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { countsAsSigned, newSigningInfo, recordSignature } from '../src/index.js';

describe('downtime: a nil precommit counts as signed (#11.21)', () => {
  const sig = new Uint8Array(64).fill(1);

  it('only an absent signature is a miss', () => {
    expect(countsAsSigned({ flag: 'commit', signature: sig })).toBe(true);
    expect(countsAsSigned({ flag: 'nil', signature: sig })).toBe(true);
    expect(countsAsSigned({ flag: 'absent', signature: new Uint8Array(64) })).toBe(false);
    expect(countsAsSigned(undefined)).toBe(false);
  });

  it('a validator that precommits nil in every block is never down', () => {
    const params = DEFAULT_CONSENSUS_PARAMS;
    let info = newSigningInfo(params.slashing.signedBlocksWindow);
    let down = false;
    for (let h = 0; h < 3 * params.slashing.signedBlocksWindow; h++) {
      const r = recordSignature(info, countsAsSigned({ flag: 'nil', signature: sig }), params);
      info = r.info;
      down ||= r.downtime;
    }
    expect(info.missedCount).toBe(0);
    expect(down).toBe(false);
  });
});
