import { blockHash, bytesEqual, encodeBlock, encodeCommit, type ValidatorSet } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlockWithCommit, type Network, RequestError } from '../../src/index.js';
import { chainProvider, connectAll, makeChain, makeValidators, startNodes, stopAll } from '../fixtures.js';

const vals = makeValidators(4);
const validatorSetAt = (): ValidatorSet => vals.set;
const CHAIN_LENGTH = 1_000;
const SMALL_RESPONSE_BYTES = 40_000;

function checkChain(items: readonly BlockWithCommit[], chain: readonly BlockWithCommit[]): void {
  expect(items).toHaveLength(chain.length);
  for (const [i, item] of items.entries()) {
    expect(item.block.header.height).toBe(i + 1);
    const hash = blockHash(item.block);
    expect(bytesEqual(hash, blockHash(chain[i]?.block ?? item.block))).toBe(true);
    expect(bytesEqual(encodeCommit(item.commit), encodeCommit(chain[i]?.commit ?? item.commit))).toBe(true);
    if (i > 0)
      expect(bytesEqual(item.block.header.lastBlockHash, blockHash(items[i - 1]?.block ?? item.block))).toBe(
        true,
      );
  }
}

describe('block sync over the range protocol', () => {
  const chain = makeChain(vals, CHAIN_LENGTH, 2);
  // a broken copy: from block 5 on, another chain (right heights, but block 5 does not follow block 4)
  const fork = makeChain(vals, 20, 3);
  const broken = [...chain.slice(0, 4), ...fork.slice(4)];
  let nodes: Network[] = [];
  // the byte-bounded server's provider, counting the heights it is asked to read
  let smallReads = 0;
  const smallProvider = chainProvider(chain);
  const countingProvider = {
    ...smallProvider,
    encodedBlockWithCommit: (height: number) => {
      smallReads++;
      return smallProvider.encodedBlockWithCommit(height);
    },
  };

  beforeAll(async () => {
    nodes = await startNodes(4, vals, (i) =>
      i === 0
        ? { provider: chainProvider(chain) }
        : i === 2
          ? { provider: countingProvider, limits: { rangeResponseBytesMax: SMALL_RESPONSE_BYTES } }
          : i === 3
            ? { provider: chainProvider(broken) }
            : {},
    );
    await connectAll(nodes);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('transfers 1,000 blocks with their commits in batches of at most 100', async () => {
    const [server, client] = nodes;
    if (server === undefined || client === undefined) throw new Error('setup');
    const status = await client.requestStatus(server.peerId);
    expect(status.height).toBe(CHAIN_LENGTH);
    expect(
      bytesEqual(status.lastBlockHash, blockHash(chain[CHAIN_LENGTH - 1]?.block ?? chain[0]!.block)),
    ).toBe(true);

    const items: BlockWithCommit[] = [];
    const batches: number[] = [];
    let next = 1;
    while (next <= CHAIN_LENGTH) {
      const { peer, items: batch } = await client.requestBlockRange(next, CHAIN_LENGTH, {
        peer: server.peerId,
        validatorSetAt,
      });
      expect(peer).toBe(server.peerId);
      batches.push(batch.length);
      items.push(...batch);
      next += batch.length;
    }
    expect(batches).toEqual(Array.from({ length: 10 }, () => 100));
    checkChain(items, chain);
  });

  it('stops a response at its byte limit (the next request continues from there), reading stored bytes one height at a time', async () => {
    const [, client, small] = nodes;
    if (client === undefined || small === undefined) throw new Error('setup');
    const itemBytes = encodeBlock(chain[0]!.block).length + encodeCommit(chain[0]!.commit).length + 5;
    const items: BlockWithCommit[] = [];
    const batches: number[] = [];
    const batchBytes: number[] = [];
    smallReads = 0;
    let next = 1;
    while (next <= CHAIN_LENGTH) {
      const { items: batch } = await client.requestBlockRange(next, CHAIN_LENGTH, {
        peer: small.peerId,
        validatorSetAt,
      });
      batches.push(batch.length);
      // bytes on the wire: result byte, u32 length, block, commit
      batchBytes.push(
        batch.reduce(
          (sum, it) => sum + 1 + 4 + encodeBlock(it.block).length + encodeCommit(it.commit).length,
          0,
        ),
      );
      items.push(...batch);
      next += batch.length;
    }
    const perBatch = Math.floor(SMALL_RESPONSE_BYTES / itemBytes);
    expect(Math.max(...batches)).toBeLessThanOrEqual(perBatch);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(CHAIN_LENGTH / perBatch));
    expect(Math.max(...batchBytes)).toBeLessThanOrEqual(SMALL_RESPONSE_BYTES);
    console.log(
      `byte-bounded range responses: ${batches.length} batches, largest ${Math.max(...batchBytes)} B of a ${SMALL_RESPONSE_BYTES} B budget, ${smallReads} heights read for ${CHAIN_LENGTH} served`,
    );
    // read lazily: each response reads what it sends, plus the one height that did not fit
    expect(smallReads).toBeLessThanOrEqual(CHAIN_LENGTH + batches.length);
    checkChain(items, chain);
  });

  it('downloadBlocks() walks the whole range over any peers', async () => {
    const [, client, , liar] = nodes;
    if (client === undefined || liar === undefined) throw new Error('setup');
    const items: BlockWithCommit[] = [];
    // keep the liar out of this one; it has its own test below
    client.ban(liar.peerId, 'test', 60_000);
    try {
      for await (const batch of client.downloadBlocks(1, CHAIN_LENGTH, { validatorSetAt }))
        items.push(...batch);
    } finally {
      client.unban(liar.peerId);
    }
    checkChain(items, chain);
  });

  it('fetches a block by hash; an unknown hash is undefined', async () => {
    const [server, client] = nodes;
    if (server === undefined || client === undefined) throw new Error('setup');
    const wanted = chain[499]?.block;
    if (wanted === undefined) throw new Error('fixture');
    const got = await client.requestBlockByHash(blockHash(wanted), { peer: server.peerId });
    expect(got === undefined ? undefined : blockHash(got)).toEqual(blockHash(wanted));
    expect(
      await client.requestBlockByHash(new Uint8Array(32).fill(0xee), { peer: server.peerId }),
    ).toBeUndefined();
    await expect(
      client.requestBlockRange(1_001, 1_005, { peer: server.peerId, validatorSetAt }),
    ).rejects.toMatchObject({
      failure: 'unavailable',
    });
  });

  it('penalises a peer whose blocks do not chain', async () => {
    const [, client, , liar] = nodes;
    if (client === undefined || liar === undefined) throw new Error('setup');
    await client.dial(liar.addresses()[0] ?? '');
    const err = await client
      .requestBlockRange(1, 20, { peer: liar.peerId, validatorSetAt })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).failure).toBe('invalid-response');
    expect(client.penaltyPoints(liar.peerId)).toBeGreaterThan(9);
  });
});
