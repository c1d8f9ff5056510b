/**
 * Inbound connections judged by remote IP, before the Noise handshake
 * (InboundIpGuard through the connection gater's denyInboundConnection). All
 * of 127.0.0.0/8 is this host on Linux: the honest peers are on 127.0.0.1,
 * each hostile host on another loopback address.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetwork, type Network } from '../../src/index.js';
import { makeValidators, RecordingMetrics, testNodeOptions, vote, waitFor } from '../fixtures.js';
import { Attacker } from '../hostile/attacker.js';
import { Payloads } from '../hostile/payloads.js';

const vals = makeValidators(4);
const BURST = 8;

/** multistream-select's header: what an inbound connection's first bytes are. */
const MULTISTREAM = Buffer.concat([Buffer.from([19]), Buffer.from('/multistream/1.0.0\n')]);

interface RawOutcome {
  /** Bytes the victim sent back. */
  readonly received: number;
  /** Whether the victim closed the socket within the wait. */
  readonly closed: boolean;
}

/**
 * Opens a TCP socket from `sourceIp`, writes `bytes` once connected, and
 * reports after `waitMs` what came back and whether the victim closed it (a
 * reset counts as closed). The socket is left as it is.
 */
function rawSocket(
  address: string,
  sourceIp: string,
  bytes: Uint8Array | undefined,
  waitMs: number,
): Promise<RawOutcome & { socket: Socket }> {
  const parts = multiaddr(address).getComponents();
  const host = parts.find((c) => c.name === 'ip4')?.value ?? '127.0.0.1';
  const port = Number(parts.find((c) => c.name === 'tcp')?.value ?? 0);
  return new Promise((resolve) => {
    let received = 0;
    let closed = false;
    const socket = tcpConnect({ host, port, localAddress: sourceIp }, () => {
      if (bytes !== undefined) socket.write(bytes);
    });
    socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {
      closed = true;
    });
    setTimeout(() => resolve({ received, closed, socket }), waitMs);
  });
}

describe('inbound connections are limited per remote IP before the handshake', () => {
  const metrics = new RecordingMetrics();
  let victim: Network | undefined;
  let honest: Network | undefined;
  let late: Network | undefined;
  const received: number[] = [];

  beforeAll(async () => {
    // a slow refill, so the burst alone decides what the rate admits here
    victim = await createNetwork(
      testNodeOptions(310, vals, {
        metrics,
        inboundConnections: { perIpBurst: BURST, perIpPerSecond: 0.01, pendingPerIp: 2, bannedPeersPerIp: 5 },
      }),
    );
    honest = await createNetwork(testNodeOptions(311, vals));
    await victim.start();
    await honest.start();
    victim.onVote(({ message }) => {
      received.push(message.vote.round);
    });
    const v = victim;
    await honest.dial(v.addresses()[0] ?? '');
    const h = honest;
    await waitFor(() => h.meshPeers('votes').includes(v.peerId), 'honest → victim vote mesh');
  });

  afterAll(async () => {
    await Promise.all([victim?.stop(), honest?.stop(), late?.stop()]);
  });

  it('bans the IP of a host that mints a new identity after each ban; an honest peer on another IP is unaffected', async () => {
    const [v, h] = [victim, honest];
    if (v === undefined || h === undefined) throw new Error('setup');
    const address = v.addresses()[0] ?? '';
    const payloads = new Payloads(vals);
    const votes = payloads.topic('votes');
    // five identities from 127.0.0.3, each banned at its first forged vote
    for (let i = 0; i < 5; i++) {
      const a = await Attacker.create(7_000 + i, '127.0.0.3');
      try {
        await a.connect(address);
        expect(await a.openGossip([votes])).toBe(true);
        await a.publish([{ topic: votes, data: payloads.forgedVote(1, 0) }]);
        await waitFor(() => v.isBanned(a.id), `identity ${i} banned`);
      } finally {
        await a.stop();
      }
    }
    expect(v.bannedIps().map((b) => b.ip)).toEqual(['127.0.0.3']);
    expect(metrics.total('synod_p2p_ip_bans_total')).toBe(1);

    // a sixth identity from that IP is refused
    const sixth = await Attacker.create(7_005, '127.0.0.3');
    try {
      const outcome = await sixth.connect(address).then(
        () => 'connected',
        () => 'refused',
      );
      expect(outcome).toBe('refused');
      expect(v.connectedPeers()).not.toContain(sixth.id);
    } finally {
      await sixth.stop();
    }
    // turned away as the listener accepted it, before libp2p wrapped the socket
    expect(
      metrics.total('synod_p2p_inbound_refused_total', { reason: 'ip-banned', stage: 'accept' }),
    ).toBeGreaterThanOrEqual(1);

    // refused before any handshake: not even multistream-select's answer comes back
    const banned = await rawSocket(address, '127.0.0.3', MULTISTREAM, 500);
    expect(banned.closed).toBe(true);
    expect(banned.received).toBe(0);
    // while from another IP the same bytes are answered
    const other = await rawSocket(address, '127.0.0.4', MULTISTREAM, 500);
    other.socket.destroy();
    expect(other.received).toBeGreaterThan(0);

    // the honest peer on 127.0.0.1 is still connected and its votes still arrive
    expect(v.connectedPeers()).toContain(h.peerId);
    await h.publishVote(vote(vals.keyAt(1), 1, 7));
    await waitFor(() => received.includes(7), 'the honest vote arrives');
    // and a new peer from 127.0.0.1 can still connect
    late = await createNetwork(testNodeOptions(312, vals));
    await late.start();
    await late.dial(address);
    const l = late;
    await waitFor(() => v.connectedPeers().includes(l.peerId), 'a new honest peer connects');
  });

  it('caps the handshakes in progress and the rate of new connections per IP', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const address = v.addresses()[0] ?? '';
    // three sockets from one IP that never start a handshake: the third is cut at once
    const idle = await Promise.all([0, 1].map(() => rawSocket(address, '127.0.0.5', undefined, 100)));
    const third = await rawSocket(address, '127.0.0.5', undefined, 400);
    expect(third.closed).toBe(true);
    expect(idle.map((s) => s.closed)).toEqual([false, false]);
    expect(metrics.total('synod_p2p_inbound_refused_total', { reason: 'ip-pending', stage: 'accept' })).toBe(
      1,
    );
    // once they go, the IP may start handshakes again
    for (const s of idle) s.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await rawSocket(address, '127.0.0.5', MULTISTREAM, 400);
    again.socket.destroy();
    expect(again.received).toBeGreaterThan(0);

    // new connections from 127.0.0.6: the burst is admitted, then the rate refuses
    const outcomes: string[] = [];
    const made: Attacker[] = [];
    try {
      for (let i = 0; i < BURST + 2; i++) {
        const a = await Attacker.create(7_100 + i, '127.0.0.6');
        made.push(a);
        outcomes.push(
          await a.connect(address).then(
            () => 'connected',
            () => 'refused',
          ),
        );
      }
    } finally {
      await Promise.all(made.map((a) => a.stop()));
    }
    expect(outcomes).toEqual([...Array<string>(BURST).fill('connected'), 'refused', 'refused']);
    expect(metrics.total('synod_p2p_inbound_refused_total', { reason: 'ip-rate', stage: 'accept' })).toBe(2);
    // nothing here got as far as the connection gater's own refusal
    expect(metrics.total('synod_p2p_inbound_refused_total', { stage: 'gater' })).toBe(0);
  });
});
