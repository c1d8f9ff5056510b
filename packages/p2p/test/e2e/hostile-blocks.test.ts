import { type Block, blockHash, bytesEqual, encodeBlock, type ValidatorSet } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Network, RequestError, type RequestProvider } from '../../src/index.js';
import {
  chainProvider,
  connectAll,
  makeChain,
  makeCommit,
  makeValidators,
  RecordingMetrics,
  startNodes,
  stopAll,
} from '../fixtures.js';

const vals = makeValidators(4);

/** The same header (so the same hash) over other transactions: the body does not match the header. */
function withForeignTxs(block: Block): Block {
  return { ...block, txs: [new Uint8Array(64).fill(0x5a)] };
}

describe('block-by-hash from a peer whose block body does not match its header', () => {
  const chain = makeChain(vals, 10, 2);
  const good = chainProvider(chain);
  const bad: RequestProvider = {
    ...good,
    blockByHash: async (hash) => {
      const block = await good.blockByHash(hash);
      return block === undefined ? undefined : withForeignTxs(block);
    },
  };
  const metrics = new RecordingMetrics();
  let nodes: Network[] = [];

  beforeAll(async () => {
    nodes = await startNodes(3, vals, (i) =>
      i === 0 ? { metrics } : i === 1 ? { provider: bad } : { provider: good },
    );
    await connectAll(nodes);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('is refused and penalised when asked alone', async () => {
    const [client, liar] = nodes;
    if (client === undefined || liar === undefined) throw new Error('setup');
    const wanted = chain[4]?.block;
    if (wanted === undefined) throw new Error('fixture');
    const err = await client
      .requestBlockByHash(blockHash(wanted), { peer: liar.peerId })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).failure).toBe('invalid-response');
    expect(client.penaltyPoints(liar.peerId)).toBeGreaterThan(0);
  });

  it('without a chosen peer, the client gets the right block from the honest peer and penalises the liar', async () => {
    const [client, liar, honest] = nodes;
    if (client === undefined || liar === undefined || honest === undefined) throw new Error('setup');
    client.unban(liar.peerId);
    const wanted = chain[6]?.block;
    if (wanted === undefined) throw new Error('fixture');
    const hash = blockHash(wanted);
    // peers are asked in random order: repeat until the liar has been asked first at least once
    let asks = 0;
    const rejectedBefore = metrics.total('synod_p2p_requests_total', {
      protocol: 'block-by-hash',
      result: 'invalid-response',
    });
    while (
      metrics.total('synod_p2p_requests_total', { protocol: 'block-by-hash', result: 'invalid-response' }) ===
        rejectedBefore &&
      asks < 40
    ) {
      asks++;
      const got = await client.requestBlockByHash(hash);
      expect(got).toBeDefined();
      expect(bytesEqual(encodeBlock(got as Block), encodeBlock(wanted))).toBe(true);
    }
    expect(
      metrics.total('synod_p2p_requests_total', { protocol: 'block-by-hash', result: 'invalid-response' }),
    ).toBeGreaterThan(rejectedBefore);
    expect(client.penaltyPoints(liar.peerId)).toBeGreaterThan(0);
    expect(client.penaltyPoints(honest.peerId)).toBe(0);
  });
});

describe('block-range sync verifies each commit against the validator set of its height', () => {
  const chain = makeChain(vals, 10, 1);
  const outsiders = makeValidators(4, 9);
  // block 4's commit is signed by keys outside the validator set: well formed, for the right block, forged
  const forged = chain.map((item) =>
    item.block.header.height === 4
      ? { ...item, commit: makeCommit(outsiders, 4, blockHash(item.block)) }
      : item,
  );
  const validatorSetAt = (): ValidatorSet => vals.set;
  let nodes: Network[] = [];

  beforeAll(async () => {
    nodes = await startNodes(
      3,
      vals,
      (i) =>
        i === 1 ? { provider: chainProvider(forged) } : i === 2 ? { provider: chainProvider(chain) } : {},
      10,
    );
    await connectAll(nodes);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('refuses a peer serving a block with a forged commit, and penalises it', async () => {
    const [client, forger] = nodes;
    if (client === undefined || forger === undefined) throw new Error('setup');
    const err = await client
      .requestBlockRange(1, 10, { peer: forger.peerId, validatorSetAt })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).failure).toBe('invalid-response');
    expect((err as RequestError).message).toContain('block 4');
    expect(client.penaltyPoints(forger.peerId)).toBeGreaterThan(0);
  });

  it('without a chosen peer, the verified blocks come from the honest peer', async () => {
    const [client, , honest] = nodes;
    if (client === undefined || honest === undefined) throw new Error('setup');
    for (let i = 0; i < 6; i++) {
      const { peer, items } = await client.requestBlockRange(1, 10, { validatorSetAt });
      expect(peer).toBe(honest.peerId);
      expect(items.map((it) => it.block.header.height)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  });

  it('stops before the first height whose validator set the caller does not know', async () => {
    const [client, , honest] = nodes;
    if (client === undefined || honest === undefined) throw new Error('setup');
    const { items } = await client.requestBlockRange(1, 10, {
      peer: honest.peerId,
      validatorSetAt: (h) => (h <= 6 ? vals.set : undefined),
    });
    expect(items.map((it) => it.block.header.height)).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(
      client.requestBlockRange(7, 10, { peer: honest.peerId, validatorSetAt: () => undefined }),
    ).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses a commit signed by the right keys under another validator set', async () => {
    const [client, , honest] = nodes;
    if (client === undefined || honest === undefined) throw new Error('setup');
    // the caller trusts other validators for height 3: the honest chain's commit 3 does not verify
    const err = await client
      .requestBlockRange(1, 10, {
        peer: honest.peerId,
        validatorSetAt: (h) => (h === 3 ? outsiders.set : vals.set),
      })
      .catch((e: unknown) => e);
    expect((err as RequestError).failure).toBe('invalid-response');
  });
});
