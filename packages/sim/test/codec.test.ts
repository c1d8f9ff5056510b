import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire, Rng, SIM_CHAIN_ID, type WireMessage } from '../src/index.js';
import { firstBlock, fixture } from './helpers.js';

describe('wire codec', () => {
  it('round-trips every message kind', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const commit = f.commit(block, [0, 1, 2]);
    const v = f.set.validators[0];
    if (v === undefined) throw new Error('no validator');
    const vote = {
      vote: { type: 'prevote' as const, height: 1, round: 2, blockHash: null, validatorAddress: v.address },
      signature: new Uint8Array(64).fill(3),
    };
    const proposal = {
      proposal: {
        height: 1,
        round: 0,
        polRound: -1,
        blockHash: commit.blockHash,
        timestampMs: 5,
        proposerAddress: v.address,
      },
      signature: new Uint8Array(64).fill(4),
    };
    const messages: WireMessage[] = [
      { kind: 'proposal', proposal, block },
      { kind: 'vote', vote },
      { kind: 'block', block },
      { kind: 'get-block', hash: commit.blockHash },
      { kind: 'status', height: 77, stuck: 3 },
      { kind: 'commit', block, commit },
    ];
    for (const m of messages) expect(decodeWire(encodeWire(m), SIM_CHAIN_ID)).toEqual(m);
  });

  it('rejects garbage by throwing, never otherwise: random bytes, bit flips, truncations', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const good = encodeWire({ kind: 'commit', block, commit: f.commit(block, [0, 1, 2]) });
    const rng = new Rng(42);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array;
      if (i % 3 === 0) {
        bytes = rng.bytes(rng.int(0, 400));
        if (bytes.length > 0) bytes[0] = rng.int(0, 7);
      } else if (i % 3 === 1) {
        bytes = good.slice();
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(0, 7));
      } else bytes = good.slice(0, rng.int(0, good.length - 1));
      try {
        decodeWire(bytes, SIM_CHAIN_ID);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(2000);
  });

  it('rejects a block of another chain and a proposal whose block is not its own', async () => {
    const f = await fixture();
    const block = await firstBlock(f, 0);
    const other = await firstBlock(f, 1);
    expect(() => decodeWire(encodeWire({ kind: 'block', block }), 'another-chain')).toThrow(/another chain/);
    const v = f.set.validators[0];
    if (v === undefined) throw new Error('no validator');
    const commit = f.commit(other, [0, 1, 2]);
    const proposal = {
      proposal: {
        height: 1,
        round: 0,
        polRound: -1,
        blockHash: commit.blockHash,
        timestampMs: 5,
        proposerAddress: v.address,
      },
      signature: new Uint8Array(64),
    };
    expect(() => decodeWire(encodeWire({ kind: 'proposal', proposal, block }), SIM_CHAIN_ID)).toThrow(
      /hash mismatch/,
    );
  });
});
