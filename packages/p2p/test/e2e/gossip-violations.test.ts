import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { RPC } from '@libp2p/gossipsub/message';
import { identify } from '@libp2p/identify';
import type { Libp2p, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import * as lp from 'it-length-prefixed';
import { createLibp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/index.js';
import { topicName } from '../../src/topics.js';
import {
  CHAIN_ID,
  connectAll,
  loopbackOnly,
  makeValidators,
  RecordingMetrics,
  startNodes,
  stopAll,
  vote,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const VOTES = topicName(CHAIN_ID, 'votes');
const MESHSUB = '/meshsub/1.1.0';

/** A libp2p peer with no gossipsub of its own: it writes raw gossipsub RPC frames. */
async function rawPeer(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: (a) => !loopbackOnly(a.toString()) },
    services: { identify: identify() },
  });
}

const rpc = (messages: Parameters<typeof RPC.encode>[0]['messages']): Uint8Array =>
  RPC.encode({ subscriptions: [], messages });

/** A frame that does not decode as an RPC (a field longer than the frame). */
const MALFORMED = new Uint8Array([0x12, 0x05, 0x01]);

describe('gossipsub-level garbage costs the sender (#11.27)', () => {
  const metrics = new RecordingMetrics();
  const honestMetrics = [new RecordingMetrics(), new RecordingMetrics()];
  let nodes: Network[] = [];
  const raws: Libp2p[] = [];

  beforeAll(async () => {
    nodes = await startNodes(3, vals, (i) => ({ metrics: i === 0 ? metrics : honestMetrics[i - 1] }));
    await connectAll(nodes);
    await waitFor(
      () => nodes.every((n) => n.meshPeers('votes').length === 2),
      'the honest nodes form a votes mesh',
    );
  });

  afterAll(async () => {
    await stopAll(nodes);
    await Promise.all(raws.map((r) => r.stop()));
  });

  const victim = (): Network => {
    const v = nodes[0];
    if (v === undefined) throw new Error('setup');
    return v;
  };

  /** A fresh identity connected to the victim, and a way to open gossipsub streams to it. */
  async function attacker(): Promise<{ id: string; open: () => Promise<Stream> }> {
    const raw = await rawPeer();
    raws.push(raw);
    await raw.dial(multiaddr(victim().addresses()[0] ?? ''));
    const peer = peerIdFromString(victim().peerId);
    return {
      id: raw.peerId.toString(),
      open: () => raw.dialProtocol(peer, MESHSUB),
    };
  }

  async function sendFrames(stream: Stream, frames: readonly Uint8Array[]): Promise<void> {
    for (const f of frames) stream.send(lp.encode.single(f));
  }

  const violations = (kind: string): number => metrics.total('synod_p2p_gossip_violations_total', { kind });

  async function expectBanned(id: string, what: string): Promise<void> {
    await waitFor(() => victim().isBanned(id), `${what}: the sender is banned`);
    await waitFor(() => !victim().connectedPeers().includes(id), `${what}: the sender is disconnected`);
  }

  it('honest peers exchanging votes (duplicates included) cost each other nothing', async () => {
    const [n0, n1, n2] = nodes;
    if (n0 === undefined || n1 === undefined || n2 === undefined) throw new Error('setup');
    const seen: number[] = [];
    n0.onVote(({ message }) => {
      seen.push(message.vote.round);
    });
    await n1.publishVote(vote(vals.keyAt(1), 1, 3));
    await n2.publishVote(vote(vals.keyAt(2), 1, 4));
    await waitFor(() => seen.includes(3) && seen.includes(4), 'the votes arrive');
    for (const m of [metrics, ...honestMetrics]) {
      expect(m.total('synod_p2p_gossip_violations_total')).toBe(0);
      expect(m.total('synod_p2p_peer_penalties_total')).toBe(0);
    }
  });

  it('malformed RPC frames: charged, the fourth bans', async () => {
    const a = await attacker();
    const s = await a.open();
    await sendFrames(s, [MALFORMED, MALFORMED, MALFORMED]);
    await waitFor(() => violations('malformed-rpc') === 3, 'three malformed frames counted');
    expect(victim().penaltyPoints(a.id)).toBeCloseTo(30, 0);
    expect(victim().isBanned(a.id)).toBe(false);
    await sendFrames(s, [MALFORMED]);
    await expectBanned(a.id, 'malformed');
  });

  it('frames over the inbound limit: charged (the stream is cut), the second bans', async () => {
    const a = await attacker();
    // a length prefix of 64 MiB: refused before a byte of it is buffered
    const huge = new Uint8Array([0x80, 0x80, 0x80, 0x20, 1, 2, 3]);
    const s1 = await a.open();
    s1.send(huge);
    await waitFor(() => violations('oversized-frame') === 1, 'one oversized frame counted');
    expect(victim().penaltyPoints(a.id)).toBeCloseTo(20, 0);
    const s2 = await a.open();
    s2.send(huge);
    await expectBanned(a.id, 'oversized');
    expect(violations('oversized-frame')).toBe(2);
  });

  it('messages on topics that are not ours: charged once per RPC, the fourth bans', async () => {
    const a = await attacker();
    const s = await a.open();
    const stray = (n: number) =>
      rpc([
        { topic: '/other-chain/votes/1', data: new Uint8Array([n]) },
        { topic: '/other-chain/txs/1', data: new Uint8Array([n]) },
      ]);
    await sendFrames(s, [stray(1), stray(2), stray(3)]);
    await waitFor(() => violations('unknown-topic') === 3, 'three stray RPCs counted');
    expect(victim().isBanned(a.id)).toBe(false);
    await sendFrames(s, [stray(4)]);
    await expectBanned(a.id, 'unknown topic');
  });

  it('messages with fields StrictNoSign forbids: charged, the fourth bans', async () => {
    const a = await attacker();
    const s = await a.open();
    const signed = (n: number) =>
      rpc([
        {
          topic: VOTES,
          data: new Uint8Array([n, 1, 2, 3]),
          from: peerIdFromString(a.id).toMultihash().bytes,
          seqno: new Uint8Array(8).fill(n),
          signature: new Uint8Array(64).fill(n),
        },
      ]);
    await sendFrames(s, [signed(1), signed(2), signed(3)]);
    await waitFor(() => violations('forbidden-fields') === 3, 'three signed messages counted');
    expect(victim().isBanned(a.id)).toBe(false);
    await sendFrames(s, [signed(4)]);
    await expectBanned(a.id, 'forbidden fields');
    // gossipsub dropped them before our validation: none was ever validated
    expect(metrics.total('synod_p2p_gossip_messages_total', { reason: 'DECODE_FAILED' })).toBe(0);
  });

  it('copies of a message we rejected: charged, so resending garbage leads to a ban', async () => {
    const a = await attacker();
    const s = await a.open();
    const garbage = rpc([{ topic: VOTES, data: new Uint8Array([9, 9, 9, 9, 9]) }]);
    await sendFrames(s, [garbage]);
    await waitFor(
      () => metrics.total('synod_p2p_gossip_messages_total', { reason: 'DECODE_FAILED' }) === 1,
      'the garbage vote rejected',
    );
    expect(victim().penaltyPoints(a.id)).toBeCloseTo(10, 0);
    await sendFrames(s, [garbage, garbage]);
    await waitFor(() => violations('invalid-duplicate') === 2, 'two copies counted');
    expect(victim().isBanned(a.id)).toBe(false);
    await sendFrames(s, [garbage]);
    await expectBanned(a.id, 'invalid duplicates');
    // validated once, never again
    expect(metrics.total('synod_p2p_gossip_messages_total', { reason: 'DECODE_FAILED' })).toBe(1);
  });

  it('the honest nodes never charged each other, and still exchange votes', async () => {
    const [n0, n1] = nodes;
    if (n0 === undefined || n1 === undefined) throw new Error('setup');
    const seen: number[] = [];
    n0.onVote(({ message }) => {
      seen.push(message.vote.round);
    });
    await n1.publishVote(vote(vals.keyAt(1), 1, 7));
    await waitFor(() => seen.includes(7), 'an honest vote arrives after the attacks');
    for (const m of honestMetrics) expect(m.total('synod_p2p_gossip_violations_total')).toBe(0);
    expect(n0.penaltyPoints(n1.peerId)).toBe(0);
  });
});
