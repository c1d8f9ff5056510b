/**
 * The per-peer inbound gossip budget (#11.29): messages beyond it are dropped
 * before gossipsub sees them (no seen-cache entry, no score record, no
 * validation), and a peer that keeps exceeding it is charged `gossip-flood`
 * until it is banned. A peer within it costs nothing.
 */
import type { GossipSub } from '@libp2p/gossipsub';
import { RPC } from '@libp2p/gossipsub/message';
import type { Libp2p } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Clock } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_INBOUND_GOSSIP_BUDGET,
  type GossipViolation,
  guardGossipRouter,
  penaltyOfViolation,
} from '../../src/gossip-guard.js';
import type { Network } from '../../src/index.js';
import { topicName } from '../../src/topics.js';
import {
  CHAIN_ID,
  makeValidators,
  RecordingMetrics,
  rawGossipPeer,
  startNodes,
  stopAll,
  waitFor,
} from '../fixtures.js';
import { Payloads } from '../hostile/payloads.js';

const vals = makeValidators(4);
const VOTES = topicName(CHAIN_ID, 'votes');

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    setTimer: () => () => {},
    advance(ms: number) {
      now += ms;
    },
  };
}

type Rpc = { messages: { topic: string; data: Uint8Array }[] };

/** The router members the guard wraps; handleReceivedRpc records what gossipsub would see. */
function fakeRouter() {
  const received: Rpc[] = [];
  return {
    received,
    decodeRpc: (bytes: Uint8Array) => RPC.decode(bytes),
    pipePeerReadStream: async () => {},
    handlePeerReadStreamError: () => {},
    handleReceivedRpc: async (_from: unknown, rpc: Rpc) => {
      received.push({ messages: [...rpc.messages] });
    },
    score: { rejectInvalidMessage: () => {}, duplicateMessage: () => {} },
  };
}

const PEER = peerIdFromString('12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp');
const rpcOf = (count: number, bytes = 100): Rpc => ({
  messages: Array.from({ length: count }, () => ({ topic: VOTES, data: new Uint8Array(bytes) })),
});

describe('the inbound gossip budget in the gossip guard', () => {
  it('defaults leave room for an honest peer: 2,000 msgs/s and 16 MiB/s, twice that in a burst', () => {
    expect(DEFAULT_INBOUND_GOSSIP_BUDGET.messagesPerSecond).toBe(2_000);
    expect(DEFAULT_INBOUND_GOSSIP_BUDGET.bytesPerSecond).toBe(16 * 1024 * 1024);
    expect(penaltyOfViolation('gossip-flood')).toBe('gossip-flood');
  });

  it('passes a peer within its budget untouched, drops the excess before gossipsub, and charges once per interval', async () => {
    const router = fakeRouter();
    const clock = manualClock();
    const seen: [string, GossipViolation][] = [];
    const guard = guardGossipRouter(router, {
      isOurTopic: () => true,
      violation: (peer, kind) => seen.push([peer, kind]),
      clock,
      budget: { messagesPerSecond: 100, messagesBurst: 100, bytesPerSecond: 1e9, bytesBurst: 1e9 },
    });
    const peer = PEER.toString();
    // an honest rate: 100 msgs/s for 5 s, never dropped
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 10; i++) {
        await router.handleReceivedRpc(PEER, rpcOf(10));
        clock.advance(100);
      }
    }
    expect(router.received.reduce((n, r) => n + r.messages.length, 0)).toBe(500);
    expect(guard.drops(peer)).toEqual({ messages: 0, bytes: 0 });
    expect(seen).toEqual([]);

    // a flood: 300 in one RPC with a full bucket of 100
    clock.advance(1_000);
    await router.handleReceivedRpc(PEER, rpcOf(300));
    expect(router.received.at(-1)?.messages).toHaveLength(100);
    expect(guard.drops(peer)).toEqual({ messages: 200, bytes: 20_000 });
    expect(seen).toEqual([[peer, 'gossip-flood']]);
    // more within the same interval: dropped, not charged again
    clock.advance(10);
    await router.handleReceivedRpc(PEER, rpcOf(50));
    expect(router.received.at(-1)?.messages).toHaveLength(1);
    expect(guard.drops().messages).toBe(249);
    expect(seen).toHaveLength(1);
    // the next interval of flooding: charged again
    clock.advance(1_000);
    await router.handleReceivedRpc(PEER, rpcOf(300));
    expect(seen).toHaveLength(2);
  });

  it('bounds bytes as well as messages (a few large messages exhaust it)', async () => {
    const router = fakeRouter();
    const clock = manualClock();
    const seen: GossipViolation[] = [];
    const guard = guardGossipRouter(router, {
      isOurTopic: () => true,
      violation: (_peer, kind) => seen.push(kind),
      clock,
      budget: { bytesPerSecond: 1_000_000, bytesBurst: 1_000_000 },
    });
    await router.handleReceivedRpc(PEER, rpcOf(5, 400_000));
    expect(router.received.at(-1)?.messages).toHaveLength(2);
    expect(guard.drops(PEER.toString())).toEqual({ messages: 3, bytes: 1_200_000 });
    expect(seen).toEqual(['gossip-flood']);
    // half a second later, 500 kB more are allowed: one more message
    clock.advance(500);
    await router.handleReceivedRpc(PEER, rpcOf(2, 400_000));
    expect(router.received.at(-1)?.messages).toHaveLength(1);
    // a message larger than the burst still passes on a full bucket
    clock.advance(10_000);
    await router.handleReceivedRpc(PEER, rpcOf(1, 2_000_000));
    expect(router.received.at(-1)?.messages).toHaveLength(1);
  });
});

describe('a peer flooding far-round votes over its budget (#11.29)', () => {
  const metrics = new RecordingMetrics();
  let victim: Network | undefined;
  const raws: Libp2p<{ pubsub: GossipSub }>[] = [];
  const payloads = new Payloads(vals);
  const BURST = 50;

  beforeAll(async () => {
    [victim] = await startNodes(1, vals, () => ({
      metrics,
      inboundGossipBudget: { messagesPerSecond: BURST, messagesBurst: BURST, chargeIntervalMs: 200 },
    }));
  });

  afterAll(async () => {
    await stopAll([victim]);
    await Promise.all(raws.map((r) => r.stop()));
  });

  async function sender(): Promise<Libp2p<{ pubsub: GossipSub }>> {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const raw = await rawGossipPeer();
    raws.push(raw);
    await raw.dial(multiaddr(v.addresses()[0] ?? ''));
    await waitFor(() => raw.services.pubsub.getSubscribers(VOTES).length === 1, 'the sender sees the victim');
    return raw;
  }

  const validated = (): number => metrics.total('synod_p2p_gossip_messages_total');
  const overBudget = (): number => metrics.total('synod_p2p_gossip_over_budget_total', { unit: 'messages' });

  it('a peer within the budget: every vote reaches validation, nothing is dropped or charged', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const raw = await sender();
    const id = raw.peerId.toString();
    for (let i = 0; i < BURST - 10; i++) await raw.services.pubsub.publish(VOTES, payloads.farVote());
    await waitFor(() => validated() === BURST - 10, 'the votes are validated');
    expect(overBudget()).toBe(0);
    expect(metrics.total('synod_p2p_gossip_violations_total')).toBe(0);
    expect(v.penaltyPoints(id)).toBe(0);
  });

  it('a flood: the excess is dropped before gossipsub, the flooder is charged and banned', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const before = validated();
    const raw = await sender();
    const id = raw.peerId.toString();
    let sent = 0;
    const deadline = Date.now() + 15_000;
    while (!v.isBanned(id) && Date.now() < deadline) {
      const batch = Array.from({ length: 100 }, () => raw.services.pubsub.publish(VOTES, payloads.farVote()));
      await Promise.all(batch);
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => v.isBanned(id), 'the flooder is banned');
    await waitFor(() => !v.connectedPeers().includes(id), 'the flooder is disconnected');
    expect(
      metrics.total('synod_p2p_gossip_violations_total', { kind: 'gossip-flood' }),
    ).toBeGreaterThanOrEqual(4);
    expect(
      metrics.total('synod_p2p_peer_penalties_total', { reason: 'gossip-flood' }),
    ).toBeGreaterThanOrEqual(4);
    const dropped = overBudget();
    expect(dropped).toBeGreaterThan(0);
    // what gossipsub saw (and we validated) is what the budget let through, not what was sent
    const passed = validated() - before;
    expect(passed).toBeLessThan(sent);
    expect(passed + dropped).toBeLessThanOrEqual(sent);
  });
});
