import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { blockHash, bytesEqual, encodeCommit, type SignedVote } from '@synod/types';
import * as lp from 'it-length-prefixed';
import { createLibp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consensusReplyItems, encodeConsensusRequest } from '../../src/codec/consensus-messages.js';
import { encodeChunk, RESULT_CODES } from '../../src/codec/reqresp-messages.js';
import {
  type ConsensusReply,
  type ConsensusRequest,
  type Network,
  type NodeSyncProvider,
  nodeTransport,
  protocolId,
  RequestError,
} from '../../src/index.js';
import {
  CHAIN_ID,
  connectAll,
  loopbackOnly,
  makeChain,
  makeValidators,
  RecordingMetrics,
  signProposal,
  startNodes,
  stopAll,
  vote,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const chain = makeChain(vals, 3, 2);
const at = (h: number) => {
  const c = chain[h - 1];
  if (c === undefined) throw new Error('fixture');
  return c;
};

function votesAt(height: number, round: number): SignedVote[] {
  return vals.keys.flatMap((_, i) => [
    vote(vals.keyAt(i), height, round, 'prevote'),
    vote(vals.keyAt(i), height, round, 'precommit'),
  ]);
}

/** The node's side of the protocol: height 2 being decided (a proposal, votes of two rounds), height 1 decided. */
function provider(asked: ConsensusRequest[]): NodeSyncProvider {
  const h2 = at(2);
  return {
    status: () => ({ height: 1, lastBlockHash: blockHash(at(1).block), earliestHeight: 1 }),
    blockByHash: () => undefined,
    blockRange: () => [],
    consensus: (request): ConsensusReply => {
      asked.push(request);
      if (request.height === 1) return { proposals: [], votes: [], decided: at(1) };
      if (request.height !== 2) return { proposals: [], votes: [] };
      return {
        proposals: [{ signedProposal: signProposal(vals.keyAt(2), h2.block, 2), block: h2.block }],
        // a stray vote of another height is never sent: the server keeps to the asked height
        votes: [...votesAt(2, request.round), ...votesAt(2, request.round + 1), vote(vals.keyAt(0), 3)],
      };
    },
  };
}

async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof RequestError ? err.failure : String(err);
  }
}

describe('the consensus (liveness) protocol between two networks on 127.0.0.1', () => {
  let nodes: Network[] = [];
  const serverMetrics = new RecordingMetrics();
  const asked: ConsensusRequest[] = [];

  beforeAll(async () => {
    nodes = await startNodes(
      2,
      vals,
      (i) =>
        i === 0
          ? {
              metrics: serverMetrics,
              // a burst of 4, then one every 100 s: the test's requests use the burst up
              serveRateLimits: { consensus: { perSecond: 0.01, burst: 4 } },
            }
          : {},
      60,
    );
    await connectAll(nodes);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('answers with what the provider holds for the height (and only that height), or the decided block', async () => {
    const [server, client] = nodes;
    if (server === undefined || client === undefined) throw new Error('setup');
    const stop = nodeTransport(server).serve(provider(asked));
    const transport = nodeTransport(client);

    const reply = await transport.requestConsensus(server.peerId, { height: 2, round: 1 });
    expect(asked).toEqual([{ height: 2, round: 1 }]);
    expect(reply.proposals).toHaveLength(1);
    expect(reply.proposals[0]?.signedProposal.proposal.round).toBe(2);
    expect(bytesEqual(blockHash(reply.proposals[0]?.block ?? at(1).block), blockHash(at(2).block))).toBe(
      true,
    );
    expect(reply.votes).toHaveLength(16);
    expect(reply.votes.every((v) => v.vote.height === 2)).toBe(true);
    expect(new Set(reply.votes.map((v) => v.vote.round))).toEqual(new Set([1, 2]));
    expect(reply.decided).toBeUndefined();

    const decided = await transport.requestConsensus(server.peerId, { height: 1, round: 0 });
    expect(decided.proposals).toEqual([]);
    expect(decided.votes).toEqual([]);
    expect(encodeCommit(decided.decided?.commit ?? at(2).commit)).toEqual(encodeCommit(at(1).commit));

    const nothing = await transport.requestConsensus(server.peerId, { height: 9, round: 0 });
    expect(nothing).toEqual({ proposals: [], votes: [] });
    expect(server.penaltyPoints(client.peerId)).toBe(0);
    expect(client.penaltyPoints(server.peerId)).toBe(0);

    // without a provider: RESOURCE_UNAVAILABLE
    stop();
    expect(await failureOf(transport.requestConsensus(server.peerId, { height: 2, round: 0 }))).toBe(
      'unavailable',
    );
  });

  it('refuses a requester over its rate limit (RATE_LIMITED, bad-request points); the protocol keeps its own bucket', async () => {
    const [server, client] = nodes;
    if (server === undefined || client === undefined) throw new Error('setup');
    nodeTransport(server).serve(provider(asked));
    const transport = nodeTransport(client);
    // the burst of 4 is spent by the first test's four requests
    expect(await failureOf(transport.requestConsensus(server.peerId, { height: 2, round: 0 }))).toBe(
      'rate-limited',
    );
    expect(
      serverMetrics.total('synod_p2p_requests_served_total', {
        protocol: 'consensus',
        result: 'rate-limited',
      }),
    ).toBe(1);
    expect(server.penaltyPoints(client.peerId)).toBeGreaterThan(0);
    // other protocols have their own buckets
    expect((await transport.requestStatus(server.peerId)).height).toBe(1);
  });
});

/** A libp2p peer outside the project answering every consensus request with the next of `answers` (raw chunk payloads). */
async function rawConsensusServer(answers: Uint8Array[][]): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: (a) => !loopbackOnly(a.toString()) },
    services: { identify: identify(), ping: ping() },
  });
  await node.handle(protocolId(CHAIN_ID, 'consensus'), (stream) => {
    void (async () => {
      try {
        for await (const _ of lp.decode(stream)) {
          // the request; the requester closes its side after it
        }
        for (const payload of answers.shift() ?? [])
          stream.send(lp.encode.single(encodeChunk({ result: 'SUCCESS', payload })));
        await stream.close();
      } catch {
        // the requester hung up
      }
    })();
  });
  await node.start();
  return node;
}

describe('a peer answering the consensus protocol with a malformed, off-height or oversize reply', () => {
  let nodes: Network[] = [];
  let raw: Libp2p | undefined;
  const h2 = at(2);
  const items = (reply: ConsensusReply): Uint8Array[] => [...consensusReplyItems(reply)];
  const answers: Uint8Array[][] = [
    // garbage
    [new Uint8Array([1, 2, 3])],
    // votes of another height than asked (3, asked 2)
    items({ proposals: [], votes: votesAt(3, 0) }),
    // a decided block whose hash is not its commit's
    items({ proposals: [], votes: [], decided: { block: at(1).block, commit: h2.commit } }),
    // 48 votes of the asked height: more than 10 per validator of its 4
    items({ proposals: [], votes: [0, 1, 2, 3, 4, 5].flatMap((r) => votesAt(2, r)) }),
  ];

  beforeAll(async () => {
    nodes = await startNodes(1, vals, () => ({}), 70);
    raw = await rawConsensusServer(answers);
  });

  afterAll(async () => {
    await stopAll(nodes);
    await raw?.stop();
  });

  it('is penalised for each reply (invalid-response, oversized-message) and banned; no reply reaches the caller', async () => {
    const [client] = nodes;
    if (client === undefined || raw === undefined) throw new Error('setup');
    const rawId = raw.peerId.toString();
    await client.dial(raw.getMultiaddrs()[0]?.toString() ?? '');
    const transport = nodeTransport(client);
    const ask = () => failureOf(transport.requestConsensus(rawId, { height: 2, round: 0 }));
    const points: number[] = [];
    const failures: string[] = [];
    const replies = answers.length; // the server takes them off the list
    for (let i = 0; i <= replies; i++) {
      failures.push(await ask());
      points.push(client.penaltyPoints(rawId));
    }
    expect(failures).toEqual([
      'invalid-response',
      'invalid-response',
      'invalid-response',
      'too-large',
      'banned',
    ]);
    // 10 per invalid response, 20 for the oversize one (points decay a little between requests)
    expect(points[0]).toBeCloseTo(10, 0);
    expect(points[1]).toBeCloseTo(20, 0);
    expect(points[2]).toBeCloseTo(30, 0);
    expect(points[3]).toBeGreaterThan(35);
    expect(client.isBanned(rawId)).toBe(true);
  });
});

describe('a requester sending malformed or oversize consensus requests', () => {
  let nodes: Network[] = [];
  let raw: Libp2p | undefined;
  const served = new RecordingMetrics();

  beforeAll(async () => {
    nodes = await startNodes(1, vals, () => ({ metrics: served }), 75);
    const [server] = nodes;
    if (server === undefined) throw new Error('setup');
    nodeTransport(server).serve(provider([]));
    raw = await rawConsensusServer([]);
    await raw.dial(multiaddr(server.addresses()[0] ?? ''));
  });

  afterAll(async () => {
    await stopAll(nodes);
    await raw?.stop();
  });

  /** Sends `frames` on a new consensus stream; resolves with the result byte of the answer (undefined: cut). */
  async function send(frames: Uint8Array): Promise<number | undefined> {
    const [server] = nodes;
    if (server === undefined || raw === undefined) throw new Error('setup');
    const stream = await raw.dialProtocol(peerIdFromString(server.peerId), protocolId(CHAIN_ID, 'consensus'));
    try {
      stream.send(frames);
      await stream.close();
      for await (const frame of lp.decode(stream)) return frame.subarray()[0];
    } catch {
      // the server cut the stream
    }
    return undefined;
  }

  it('answers a malformed request INVALID_REQUEST, cuts an oversize one, and charges both', async () => {
    const [server] = nodes;
    if (server === undefined || raw === undefined) throw new Error('setup');
    const rawId = raw.peerId.toString();
    // a well-formed request is served
    expect(await send(lp.encode.single(encodeConsensusRequest({ height: 2, round: 0 })).subarray())).toBe(
      RESULT_CODES.SUCCESS,
    );
    expect(server.penaltyPoints(rawId)).toBe(0);
    // 11 bytes, then height 0: INVALID_REQUEST, 5 points each
    expect(await send(lp.encode.single(new Uint8Array(11)).subarray())).toBe(RESULT_CODES.INVALID_REQUEST);
    expect(await send(lp.encode.single(new Uint8Array(12)).subarray())).toBe(RESULT_CODES.INVALID_REQUEST);
    expect(server.penaltyPoints(rawId)).toBeCloseTo(10, 0);
    // a frame above the 12-byte request bound: cut unanswered, 20 points
    expect(await send(lp.encode.single(new Uint8Array(64 * 1024)).subarray())).toBeUndefined();
    await waitFor(() => server.penaltyPoints(rawId) > 29, 'the oversize request charged');
    expect(
      served.total('synod_p2p_requests_served_total', { protocol: 'consensus', result: 'invalid-request' }),
    ).toBe(2);
  });
});
