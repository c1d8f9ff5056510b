import { toHex } from '@synod/crypto';
import type { ChainStatus, GossipValidationView, NodeMessages, SyncProvider } from '@synod/node';
import { encodeSignedVote, type SignedVote, SynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  EventQueue,
  emptyTransportCounters,
  type Packet,
  Rng,
  SIM_CHAIN_ID,
  SimNetwork,
  SimTransport,
  Trace,
  type TransportWorld,
} from '../src/index.js';
import { fixture, GENESIS_MS, prevote } from './helpers.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs the queue's events (and what they set off) until none is left or `untilMs` passes. */
async function run(queue: EventQueue, untilMs = Number.POSITIVE_INFINITY): Promise<void> {
  for (;;) {
    await settle();
    const next = queue.peekTime();
    if (next === undefined || next > untilMs) return;
    queue.step();
  }
}

async function cluster(n: number, options: { readonly relay?: boolean } = {}) {
  const f = await fixture();
  const queue = new EventQueue();
  const network = new SimNetwork<Packet>(n, queue, new Rng(1), {
    minDelayMs: 1,
    maxDelayMs: 5,
    lossRate: 0,
    duplicateRate: 0,
  });
  const keys = new Map(f.set.validators.map((v) => [toHex(v.address), v.pubKey]));
  const world: TransportWorld = {
    network,
    queue,
    chainId: SIM_CHAIN_ID,
    verify: f.oracle.verify,
    verifyTx: f.chain.txSignatures.verify,
    keyOf: (a) => keys.get(toHex(a)),
    requestTimeoutMs: 100,
    counters: emptyTransportCounters(),
    trace: new Trace(),
    nextRequestId: (() => {
      let id = 0;
      return () => ++id;
    })(),
  };
  // The node's view of its chain at height 1 (what @synod/p2p's validation reads).
  const view: GossipValidationView = {
    evidenceChain: () => ({
      height: 0,
      timeMs: GENESIS_MS,
      params: f.chain.params,
      blockTimeAt: (h) => (h === 0 ? GENESIS_MS : undefined),
    }),
    currentHeight: () => 1,
    currentRound: () => 0,
    validatorSetAt: (h) => (h >= 1 && h <= 3 ? f.set : undefined),
    proposerIndex: () => 0,
    verifySignature: f.oracle.verify,
  };
  const alive = Array.from({ length: n }, () => true);
  const received: SignedVote[][] = Array.from({ length: n }, () => []);
  const transports = Array.from({ length: n }, (_, i) => {
    const t = new SimTransport({
      world,
      index: i,
      rng: new Rng(10 + i),
      alive: () => alive[i] === true,
      ...(options.relay === undefined ? {} : { relay: options.relay }),
    });
    network.attach(i, (from, packet) => t.receive(from, packet));
    t.attachValidation(view);
    t.subscribe('votes', ({ message }) => {
      received[i]?.push(message as NodeMessages['votes']);
    });
    return t;
  });
  return { f, queue, network, world, transports, received, alive };
}

describe('simulated transport: gossip', () => {
  it('delivers a published message to every peer once; each relays it once, to peers that have not seen it, and drops the copies it sees again', async () => {
    const c = await cluster(4);
    const vote = prevote(c.f, 0, 1, null);
    c.transports[0]?.publish('votes', vote);
    await run(c.queue);
    expect(c.received.map((r) => r.length)).toEqual([0, 1, 1, 1]);
    // Each of the three receivers relays to the two peers other than the sender: 6 copies, all seen
    // before on arrival; those to a peer that already held the message when it was relayed are
    // spared (IDONTWANT): the receivers get the publish at different times, so some are and some not.
    const { gossipRelayed, gossipSpared, gossipDuplicates } = c.world.counters;
    expect(gossipRelayed + gossipSpared).toBe(6);
    expect(gossipSpared).toBeGreaterThan(0);
    expect(gossipRelayed).toBeGreaterThan(0);
    expect(gossipDuplicates).toBe(gossipRelayed);
  });

  it('sends nothing again once a message was lost on every link', async () => {
    const c = await cluster(3);
    const vote = prevote(c.f, 0, 1, new Uint8Array(32).fill(2));
    c.network.setFaults({ minDelayMs: 1, maxDelayMs: 5, lossRate: 1, duplicateRate: 0 });
    c.transports[0]?.publish('votes', vote);
    await run(c.queue);
    expect(c.received.map((r) => r.length)).toEqual([0, 0, 0]);
    c.network.setFaults({ minDelayMs: 1, maxDelayMs: 5, lossRate: 0, duplicateRate: 0 });
    await run(c.queue);
    // Gossip never re-sends: the message is gone (the node's liveness protocol pulls it back).
    expect(c.received.map((r) => r.length)).toEqual([0, 0, 0]);
  });

  it('rejects, and neither delivers nor relays, a vote whose signature does not verify; garbage too', async () => {
    const c = await cluster(3);
    const vote = prevote(c.f, 0, 1, null);
    const forged = encodeSignedVote({ ...vote, signature: new Uint8Array(64).fill(9) });
    c.transports[0]?.sendGossip([1], 'votes', forged);
    c.transports[0]?.sendGossip([1], 'votes', Uint8Array.of(1, 2, 3));
    await run(c.queue);
    expect(c.received.map((r) => r.length)).toEqual([0, 0, 0]);
    expect(c.world.counters.gossipRejected).toBe(2);
    expect(c.world.counters.gossipRelayed).toBe(0);
  });

  it("a node that does not relay (a Byzantine one's transport) delivers but forwards nothing", async () => {
    const c = await cluster(3, { relay: false });
    c.transports[0]?.sendGossip([1], 'votes', encodeSignedVote(prevote(c.f, 0, 1, null)));
    await run(c.queue);
    expect(c.received.map((r) => r.length)).toEqual([0, 1, 0]);
  });
});

describe('simulated transport: requests', () => {
  const status: ChainStatus = { height: 7, lastBlockHash: new Uint8Array(32), earliestHeight: 1 };
  const provider: SyncProvider = {
    status: () => status,
    blockByHash: () => undefined,
    blockRange: () => [],
    consensus: () => ({ proposals: [], votes: [] }),
  };

  it('a request gets the peer provider’s answer through the network', async () => {
    const c = await cluster(2);
    c.transports[1]?.serve(provider);
    const answer = c.transports[0]?.requestStatus('1');
    await run(c.queue);
    expect(await answer).toEqual(status);
    expect(c.world.counters.requests.status).toBe(1);
  });

  it('a request nobody answers (a dead or cut-off peer, a lost reply) rejects with P2P_TIMEOUT after requestTimeoutMs', async () => {
    const c = await cluster(2);
    c.transports[1]?.serve(provider);
    c.alive[1] = false;
    const answer = c.transports[0]?.requestStatus('1');
    const outcome = answer?.then(
      () => 'answered',
      (err: unknown) => (err instanceof SynodError ? err.code : 'other'),
    );
    await run(c.queue, 99);
    let settled = false;
    void outcome?.then(() => {
      settled = true;
    });
    await settle();
    expect(settled).toBe(false);
    await run(c.queue);
    expect(await outcome).toBe('P2P_TIMEOUT');
    expect(c.world.counters.requestTimeouts).toBe(1);
  });

  it('a peer that does not serve answers at once with an error', async () => {
    const c = await cluster(2);
    const answer = c.transports[0]?.requestStatus('1').then(
      () => 'answered',
      (err: unknown) => (err as Error).message,
    );
    await run(c.queue);
    expect(await answer).toContain('not serving');
    expect(c.world.counters.requestTimeouts).toBe(0);
  });

  it('peers are the nodes that are up and on our side of a partition', async () => {
    const c = await cluster(4);
    expect(c.transports[0]?.peers()).toEqual(['1', '2', '3']);
    c.network.attach(3, undefined);
    c.network.partition([[0, 1], [2]]);
    expect(c.transports[0]?.peers()).toEqual(['1']);
  });
});
