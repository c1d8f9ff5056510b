import { afterAll, describe, expect, it } from 'vitest';
import { createNetwork, type Network } from '../../src/index.js';
import { makeValidators, stopAll, testNodeOptions, vote, waitFor } from '../fixtures.js';

const vals = makeValidators(4);

describe('a restarted peer', () => {
  const nodes: Network[] = [];

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('is reconnected by the peer manager (persistent peer, same key and port)', async () => {
    // B has no peers configured: only A's peer manager can bring the connection back
    const b1 = await createNetwork(testNodeOptions(1, vals));
    nodes.push(b1);
    await b1.start();
    const bAddress = b1.addresses()[0] ?? '';
    const port = bAddress.split('/')[4];
    const a = await createNetwork(testNodeOptions(0, vals, { persistentPeers: [bAddress] }));
    nodes.push(a);
    const got: number[] = [];
    a.onVote(({ message }) => {
      got.push(message.vote.round);
    });
    await a.start();
    await waitFor(() => a.connectedPeers().includes(b1.peerId), 'A connects to its persistent peer B');
    expect(a.peers().find((p) => p.id === b1.peerId)).toMatchObject({ kind: 'persistent', connected: true });

    await b1.stop();
    await waitFor(() => !a.connectedPeers().includes(b1.peerId), 'A sees B go away');

    // "restart the process": a new instance with the same node key, on the same port
    const b2 = await createNetwork(testNodeOptions(1, vals, { listen: [`/ip4/127.0.0.1/tcp/${port}`] }));
    nodes.push(b2);
    expect(b2.peerId).toBe(b1.peerId);
    await b2.start();
    await waitFor(() => a.connectedPeers().includes(b2.peerId), 'A reconnects to the restarted B', 20_000);
    await waitFor(() => b2.connectedPeers().includes(a.peerId), 'the restarted B sees A');
    expect(b2.connectedPeers()).toEqual([a.peerId]);

    // and gossip flows again
    await waitFor(() => b2.meshPeers('votes').includes(a.peerId), 'B meshes with A again');
    await b2.publishVote(vote(vals.keyAt(1), 1, 42));
    await waitFor(() => got.includes(42), 'a vote from the restarted B reaches A');
  });
});
