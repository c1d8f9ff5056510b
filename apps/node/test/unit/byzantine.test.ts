import type { NodeTransport, SyncProvider } from '@synod/node';
import {
  DEFAULT_MESSAGE_LIMITS,
  type Network,
  protocolId,
  REQRESP_PROTOCOLS,
  topicBytesMax,
} from '@synod/p2p';
import { noopLogger, type SignedVote } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  byzantineTransport,
  checkByzantineMode,
  FLOOD_ROUND_OFFSET,
  FLOOD_VOTES,
  garbageMessages,
  REQUEST_BYTES_MAX,
  requestGarbage,
} from '../../src/byzantine/modes.js';

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

describe('Byzantine transports', () => {
  const seed = new Uint8Array(32).fill(7);
  const vote = (round: number, blockHash: Uint8Array | null): SignedVote => ({
    vote: { type: 'prevote', height: 5, round, blockHash, validatorAddress: new Uint8Array(20).fill(1) },
    signature: new Uint8Array(64),
  });
  /** A transport that records what is published and served. */
  const recording = () => {
    const published: { topic: string; message: unknown }[] = [];
    let served: SyncProvider | undefined;
    const inner = {
      publish: (topic: string, message: unknown) => {
        published.push({ topic, message });
      },
      subscribe: () => () => {},
      serve: (p: SyncProvider) => {
        served = p;
        return () => {};
      },
      peers: () => [],
    } as unknown as NodeTransport;
    return { inner, published, served: () => served };
  };

  it('flood-votes never signs a vote of a (height, round, type) the node reaches: no double sign of its own', async () => {
    const r = recording();
    const { transport } = byzantineTransport(r.inner, {
      mode: 'flood-votes',
      chainId: 'test-x',
      keySeed: seed,
      network: {} as Network,
      logger: noopLogger,
    });
    // The node's own votes of rounds 0 to 5 at one height, each followed by the flood.
    const own = new Set<string>();
    for (let round = 0; round <= 5; round++) {
      own.add(`5/${round}/prevote`);
      await transport.publish('votes', vote(round, new Uint8Array(32).fill(round + 1)));
    }
    const flood = r.published.map((p) => (p.message as SignedVote).vote).filter((v) => v.blockHash === null);
    expect(flood.length).toBe(6 * FLOOD_VOTES);
    for (const v of flood) expect(own.has(`${v.height}/${v.round}/${v.type}`)).toBe(false);
    for (const v of flood) expect(v.round).toBeGreaterThanOrEqual(FLOOD_ROUND_OFFSET);
  });

  it('silent publishes no vote or proposal and hands out nothing through the liveness protocol', async () => {
    const r = recording();
    const { transport } = byzantineTransport(r.inner, {
      mode: 'silent',
      chainId: 'test-x',
      keySeed: seed,
      network: {} as Network,
      logger: noopLogger,
    });
    await transport.publish('votes', vote(0, null));
    await transport.publish('txs', new Uint8Array([1]));
    expect(r.published.map((p) => p.topic)).toEqual(['txs']);
    const provider = {
      status: () => ({ height: 4, lastBlockHash: new Uint8Array(32), earliestHeight: 1 }),
      blockByHash: () => undefined,
      blockRange: () => [],
      consensus: () => ({ proposals: [], votes: [vote(0, null)] }),
    } satisfies SyncProvider;
    transport.serve(provider);
    const served = r.served();
    expect(await served?.consensus({ height: 5, round: 0 })).toEqual({ proposals: [], votes: [] });
    expect(await served?.status()).toEqual(provider.status());
  });

  it('garbage requests: every protocol, the malformed Synod requests before any oversize one, gossipsub last', () => {
    const registered = [
      '/ipfs/id/1.0.0',
      '/ipfs/ping/1.0.0',
      '/meshsub/1.1.0',
      ...REQRESP_PROTOCOLS.map((p) => protocolId('test-x', p)),
    ];
    const g = requestGarbage('test-x', registered);
    for (const p of registered) expect(g.some((r) => r.protocol === p)).toBe(true);
    const order = g.map((r) => `${r.synod ?? r.protocol}:${r.kind}`);
    const firstOversize = order.findIndex((o) => REQRESP_PROTOCOLS.some((p) => o === `${p}:oversize`));
    for (const p of REQRESP_PROTOCOLS) expect(order.indexOf(`${p}:malformed`)).toBeLessThan(firstOversize);
    expect(order.indexOf('/meshsub/1.1.0:random')).toBeGreaterThan(order.lastIndexOf('consensus:oversize'));
    expect(order.slice(0, 4)).toEqual([
      '/ipfs/id/1.0.0:random',
      '/ipfs/id/1.0.0:oversize',
      '/ipfs/ping/1.0.0:random',
      '/ipfs/ping/1.0.0:oversize',
    ]);
    // An oversize Synod request is one byte (plus its length prefix) over the protocol's limit.
    for (const r of g.filter((x) => x.synod !== undefined && x.kind === 'oversize'))
      expect(r.bytes.length).toBe(REQUEST_BYTES_MAX[r.synod as keyof typeof REQUEST_BYTES_MAX] + 2);
  });

  it('garbage answers requests with wrongly-signed votes and commits', async () => {
    const r = recording();
    const { transport, stop } = byzantineTransport(r.inner, {
      mode: 'garbage',
      chainId: 'test-x',
      keySeed: seed,
      network: {} as Network,
      logger: noopLogger,
    });
    try {
      const commit = {
        height: 4,
        round: 0,
        blockHash: new Uint8Array(32),
        signatures: [{ flag: 'commit', signature: new Uint8Array(64).fill(3) }],
      };
      const provider = {
        status: () => ({ height: 4, lastBlockHash: new Uint8Array(32), earliestHeight: 1 }),
        blockByHash: () => undefined,
        blockRange: () => [{ block: {}, commit }],
        consensus: () => ({ proposals: [], votes: [vote(0, null)] }),
      } as unknown as SyncProvider;
      transport.serve(provider);
      const served = r.served();
      const reply = await served?.consensus({ height: 5, round: 0 });
      expect(reply?.votes[0]?.signature[0]).toBe(0xff);
      const range = await served?.blockRange(4, 4);
      expect(range?.[0]?.commit.signatures[0]?.signature[0]).toBe(3 ^ 0xff);
      expect(range?.[0]?.commit.signatures[0]?.signature[1]).toBe(3);
    } finally {
      stop();
    }
  });
});
