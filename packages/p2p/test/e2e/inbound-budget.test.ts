/**
 * The per-peer inbound gossip budget (#11.28, #11.29): a peer that has spent
 * it has its gossipsub stream paused until it refills (what it sends waits
 * on its side, unread), and messages of one frame beyond it are dropped
 * before gossipsub sees them (no seen-cache entry, no score record, no
 * validation); a peer that keeps exceeding it is charged `gossip-flood` until
 * it is banned. A peer within it costs nothing.
 */
import type { GossipSub } from '@libp2p/gossipsub';
import { RPC } from '@libp2p/gossipsub/message';
import type { Libp2p } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { type Clock, encodeSignedVote } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_INBOUND_GOSSIP_BUDGET,
  type GossipViolation,
  guardGossipRouter,
  type InboundGossipBudget,
  inboundGossipBudgetFor,
  penaltyOfViolation,
} from '../../src/gossip-guard.js';
import type { Network } from '../../src/index.js';
import { DEFAULT_MESSAGE_LIMITS, proposalBytesMax } from '../../src/limits.js';
import { topicName } from '../../src/topics.js';
import {
  CHAIN_ID,
  makeValidators,
  RecordingMetrics,
  rawGossipPeer,
  startNodes,
  stopAll,
  vote,
  waitFor,
} from '../fixtures.js';
import { Attacker } from '../hostile/attacker.js';
import { Payloads } from '../hostile/payloads.js';

const vals = makeValidators(4);
const VOTES = topicName(CHAIN_ID, 'votes');

/** A clock the test moves by hand; timers fire as it passes them. */
function manualClock(): Clock & { advance(ms: number): void; timers(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer: (ms, fn) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => {
        timers = timers.filter((x) => x !== t);
      };
    },
    advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
    timers: () => timers.length,
  };
}

type Rpc = { messages: { topic: string; data: Uint8Array }[] };

/** The router members the guard wraps; handleReceivedRpc records what gossipsub would see. */
function fakeRouter() {
  const received: Rpc[] = [];
  return {
    received,
    decodeRpc: (bytes: Uint8Array) => RPC.decode(bytes),
    streamsInbound: new Map(),
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
  it('defaults leave room for an honest peer: 2,000 msgs/s (4,000 at once), two of the largest proposals a second (four at once)', () => {
    const proposal = proposalBytesMax(DEFAULT_MESSAGE_LIMITS);
    expect(DEFAULT_INBOUND_GOSSIP_BUDGET.messagesPerSecond).toBe(2_000);
    expect(DEFAULT_INBOUND_GOSSIP_BUDGET.messagesBurst).toBe(4_000);
    expect(DEFAULT_INBOUND_GOSSIP_BUDGET.bytesPerSecond).toBe(2 * proposal);
    expect(DEFAULT_INBOUND_GOSSIP_BUDGET.bytesBurst).toBe(4 * proposal);
    // the bytes follow the chain's block size
    expect(inboundGossipBudgetFor(1_000_000).bytesBurst).toBe(4_000_000);
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
    expect(guard.drops(peer)).toEqual({ messages: 0, bytes: 0, paused: 0 });
    expect(seen).toEqual([]);

    // a flood: 300 in one RPC with a full bucket of 100
    clock.advance(1_000);
    await router.handleReceivedRpc(PEER, rpcOf(300));
    expect(router.received.at(-1)?.messages).toHaveLength(100);
    expect(guard.drops(peer)).toEqual({ messages: 200, bytes: 20_000, paused: 0 });
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
    expect(guard.drops(PEER.toString())).toEqual({ messages: 3, bytes: 1_200_000, paused: 0 });
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

/** An RPC frame of `count` votes of `bytes` each, as gossipsub's read loop gets it. */
const frameOf = (count: number, bytes = 100): { subarray(): Uint8Array; byteLength: number } => {
  const encoded = RPC.encode({ subscriptions: [], messages: rpcOf(count, bytes).messages });
  return { subarray: () => encoded, byteLength: encoded.length };
};

/**
 * A router whose read loop is gossipsub's (decode each frame, hand it on
 * without waiting), reading `frames` from a stream that records pause() and
 * resume(), guarded with `budget` on a manual clock.
 */
function readingRouter(
  frames: { subarray(): Uint8Array; byteLength: number }[],
  budget: Partial<InboundGossipBudget>,
) {
  const clock = manualClock();
  const violations: GossipViolation[] = [];
  const calls: string[] = [];
  const received: Rpc[] = [];
  const state = { pulled: 0 };
  const source = (async function* () {
    for (const f of frames) {
      state.pulled++;
      yield f;
    }
  })();
  const router = {
    decodeRpc: (bytes: Uint8Array) => RPC.decode(bytes),
    streamsInbound: new Map([
      [
        PEER.toString(),
        { rawStream: { pause: () => calls.push('pause'), resume: () => calls.push('resume') }, source },
      ],
    ]),
    pipePeerReadStream: async (from: unknown, src: AsyncIterable<{ subarray(): Uint8Array }>) => {
      for await (const f of src) void router.handleReceivedRpc(from, router.decodeRpc(f.subarray()) as Rpc);
    },
    handlePeerReadStreamError: () => {},
    handleReceivedRpc: async (_from: unknown, rpc: Rpc) => {
      received.push({ messages: [...rpc.messages] });
    },
    score: { rejectInvalidMessage: () => {}, duplicateMessage: () => {} },
  };
  const guard = guardGossipRouter(router, {
    isOurTopic: () => true,
    violation: (_peer, kind) => violations.push(kind),
    clock,
    budget,
  });
  return {
    clock,
    guard,
    calls,
    violations,
    state,
    /** Messages handed on to gossipsub so far. */
    passed: () => received.reduce((n, r) => n + r.messages.length, 0),
    run: () => router.pipePeerReadStream(PEER, source),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('backpressure: a peer that spent its budget is not read until it refills', () => {
  it('pauses its stream before a frame it cannot afford, resumes once it has earned resumeAfterMs, and charges once per interval', async () => {
    // read again after 50 ms of budget: one message
    const t = readingRouter([frameOf(10), frameOf(10), frameOf(10), frameOf(10)], {
      messagesPerSecond: 20,
      messagesBurst: 20,
      bytesPerSecond: 1e9,
      bytesBurst: 1e9,
      resumeAfterMs: 50,
    });
    const done = t.run();
    await settle();
    // two frames spent the burst: the stream is paused, the third frame (read) waits
    expect(t.state.pulled).toBe(3);
    expect(t.calls).toEqual(['pause']);
    expect(t.violations).toEqual(['gossip-flood']);
    expect(t.passed()).toBe(20);
    t.clock.advance(49);
    await settle();
    expect(t.passed()).toBe(20);
    // 50 ms buy one message: resumed, the third frame goes on and one message of it passes;
    // the fourth waits in turn
    t.clock.advance(1);
    await settle();
    expect(t.calls).toEqual(['pause', 'resume', 'pause']);
    expect(t.state.pulled).toBe(4);
    expect(t.passed()).toBe(21);
    expect(t.guard.drops(PEER.toString())).toEqual({ messages: 9, bytes: 900, paused: 2 });
    // within the charge interval: not charged again
    expect(t.violations).toEqual(['gossip-flood']);
    // a second later the budget is full again: the last frame passes whole
    t.clock.advance(1_000);
    await done;
    expect(t.passed()).toBe(31);
    expect(t.calls).toEqual(['pause', 'resume', 'pause', 'resume']);
  });

  it('holds back large frames by bytes: a frame waits until the bucket holds its size', async () => {
    const t = readingRouter([frameOf(1, 400_000), frameOf(1, 400_000), frameOf(1, 400_000)], {
      bytesPerSecond: 1_000_000,
      bytesBurst: 1_000_000,
    });
    const done = t.run();
    await settle();
    // 800 kB of a 1 MB burst spent: the third frame (400 kB and its framing) waits for
    // 200 kB more, 200 ms
    expect(t.passed()).toBe(2);
    expect(t.calls).toEqual(['pause']);
    t.clock.advance(195);
    await settle();
    expect(t.passed()).toBe(2);
    t.clock.advance(10);
    await done;
    expect(t.passed()).toBe(3);
    // nothing was read only to be dropped
    expect(t.guard.drops(PEER.toString())).toEqual({ messages: 0, bytes: 0, paused: 1 });
  });
});

describe('a peer flooding far-round votes over its budget (#11.29)', () => {
  const metrics = new RecordingMetrics();
  let victim: Network | undefined;
  const raws: Libp2p<{ pubsub: GossipSub }>[] = [];
  const attackers: Attacker[] = [];
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
    await Promise.all(attackers.map((a) => a.stop()));
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

  it('a flood is held to the budget: its stream is paused, not read and dropped; the flooder is charged and banned', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const before = validated();
    // a peer outside the project writing frames of ten far-round votes as fast as its stream takes them
    const a = await Attacker.create(8_000, '127.0.0.7');
    attackers.push(a);
    await a.connect(v.addresses()[0] ?? '');
    expect(await a.openGossip([VOTES])).toBe(true);
    const started = performance.now();
    const deadline = Date.now() + 15_000;
    while (!v.isBanned(a.id) && a.connected() && Date.now() < deadline) {
      const frame = Array.from({ length: 10 }, () => ({ topic: VOTES, data: payloads.farVote() }));
      if (!(await a.publish(frame))) break;
      // the victim shares this event loop: give it its turn
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => v.isBanned(a.id), 'the flooder is banned');
    const seconds = (performance.now() - started) / 1000;
    await waitFor(() => !v.connectedPeers().includes(a.id), 'the flooder is disconnected');
    expect(
      metrics.total('synod_p2p_gossip_violations_total', { kind: 'gossip-flood' }),
    ).toBeGreaterThanOrEqual(4);
    expect(
      metrics.total('synod_p2p_peer_penalties_total', { reason: 'gossip-flood' }),
    ).toBeGreaterThanOrEqual(4);
    // held back by pausing its stream: what was read beyond the budget is at most the
    // rest of the frame that spent it, once per pause (not everything the flooder sent)
    const pauses = metrics.total('synod_p2p_gossip_paused_total');
    expect(pauses).toBeGreaterThan(0);
    expect(overBudget()).toBeLessThanOrEqual(9 * pauses);
    expect(a.report.sent).toBeGreaterThan(5 * (overBudget() + validated() - before));
    // what gossipsub saw (and we validated) is what the budget let through
    expect(validated() - before).toBeLessThanOrEqual(BURST + BURST * seconds + 10);
  });
});

describe('a banned flooder is cut at once, even while it keeps writing', () => {
  const metrics = new RecordingMetrics();
  let victim: Network | undefined;
  let attacker: Attacker | undefined;

  beforeAll(async () => {
    [victim] = await startNodes(
      1,
      vals,
      () => ({
        metrics,
        inboundGossipBudget: { messagesPerSecond: 50, messagesBurst: 50, chargeIntervalMs: 200 },
      }),
      30,
    );
  });

  afterAll(async () => {
    await stopAll([victim]);
    await attacker?.stop();
  });

  it('banned while its stream is paused, its connection is aborted at once (a graceful close left it open on our side while the flooder wrote on)', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const payloads = new Payloads(vals);
    const a = await Attacker.create(8_200, '127.0.0.9');
    attacker = a;
    await a.connect(v.addresses()[0] ?? '');
    expect(await a.openGossip([VOTES])).toBe(true);
    // far-round votes as fast as its stream takes them: paused, charged, banned; it writes on
    const deadline = Date.now() + 8_000;
    while (a.connected() && Date.now() < deadline) {
      await a.publish(Array.from({ length: 50 }, () => ({ topic: VOTES, data: payloads.farVote() })));
      await new Promise((r) => setImmediate(r));
    }
    expect(v.isBanned(a.id)).toBe(true);
    expect(metrics.total('synod_p2p_gossip_paused_total')).toBeGreaterThan(0);
    expect(a.connected()).toBe(false);
    expect(v.connectedPeers()).not.toContain(a.id);
  });
});

describe('votes outside the window are dropped before gossipsub records them (#11.28)', () => {
  const metrics = new RecordingMetrics();
  let victim: Network | undefined;
  let attacker: Attacker | undefined;

  beforeAll(async () => {
    [victim] = await startNodes(1, vals, () => ({ metrics }), 20);
  });

  afterAll(async () => {
    await stopAll([victim]);
    await attacker?.stop();
  });

  it('a far-round vote is IGNOREd each time it comes (never in the seen cache); an in-window vote still once', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const payloads = new Payloads(vals);
    const a = await Attacker.create(8_100, '127.0.0.8');
    attacker = a;
    await a.connect(v.addresses()[0] ?? '');
    expect(await a.openGossip([VOTES])).toBe(true);
    const far = payloads.farVote();
    const near = encodeSignedVote(vote(vals.keyAt(1), 1, 0));
    for (let i = 0; i < 3; i++) {
      await a.publish([{ topic: VOTES, data: far }]);
      await a.publish([{ topic: VOTES, data: near }]);
    }
    const ignored = () =>
      metrics.total('synod_p2p_gossip_messages_total', { action: 'ignore', reason: 'ROUND_TOO_FAR' }) +
      metrics.total('synod_p2p_gossip_messages_total', { action: 'ignore', reason: 'HEIGHT_TOO_FAR' });
    await waitFor(() => ignored() === 3, 'each copy of the far vote is ignored on arrival');
    await waitFor(
      () => metrics.total('synod_p2p_gossip_messages_total', { action: 'accept' }) === 1,
      'the in-window vote is accepted',
    );
    // gossipsub's own duplicate handling still applies to what it sees
    await new Promise((r) => setTimeout(r, 200));
    expect(metrics.total('synod_p2p_gossip_messages_total', { action: 'accept' })).toBe(1);
    expect(ignored()).toBe(3);
    expect(v.penaltyPoints(a.id)).toBe(0);
  });
});
