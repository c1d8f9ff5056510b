/**
 * A request stream that ends without a request — the requester's deadline
 * reset it, its connection closed or was cut, or the request did not arrive
 * within the read timeout — is dropped without a penalty: it is not a
 * malformed request (a malformed one still is). Before the fix, a stream
 * whose connection closed before its request was counted as a bad request
 * (5 points each: in a chaos run, honest peers reconnecting through a slow
 * link penalised each other for pex requests).
 */
import type { GossipSub } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Network } from '../../src/index.js';
import { protocolId } from '../../src/topics.js';
import {
  CHAIN_ID,
  makeValidators,
  RecordingMetrics,
  rawGossipPeer,
  startNodes,
  stopAll,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(1);
let nodes: Network[] = [];
let slow: Libp2p<{ pubsub: GossipSub }> | undefined;
const metrics = new RecordingMetrics();

beforeAll(async () => {
  nodes = await startNodes(1, vals, () => ({ metrics, timeouts: { requestReadMs: 300 } }));
  slow = await rawGossipPeer();
});

afterAll(async () => {
  await stopAll(nodes);
  await slow?.stop();
});

it('a request stream that ends without a request is dropped, not penalised as malformed', async () => {
  const [n0] = nodes;
  if (n0 === undefined || slow === undefined) throw new Error('setup');
  const peer = slow.peerId.toString();
  await slow.dial(multiaddr(n0.addresses()[0] ?? ''));
  for (const p of ['pex', 'status', 'consensus'] as const) {
    // The stream opens, the request never comes (nor the end of it).
    const stream = await slow.dialProtocol(multiaddr(n0.addresses()[0] ?? ''), protocolId(CHAIN_ID, p));
    await waitFor(() => stream.status !== 'open', `${p}: the server hangs up after its read timeout`, 10_000);
  }
  expect(n0.penaltyPoints(peer)).toBe(0);
  // A requester that gives up (its own deadline) resets the stream before its request went out.
  for (const p of ['pex', 'status', 'consensus'] as const) {
    const stream = await slow.dialProtocol(multiaddr(n0.addresses()[0] ?? ''), protocolId(CHAIN_ID, p));
    stream.abort(new Error('gave up'));
  }
  await new Promise((r) => setTimeout(r, 1500));
  expect(n0.penaltyPoints(peer)).toBe(0);
  // Its connection ends (closed, or cut by the network) before the request went out.
  for (const p of ['pex', 'status', 'consensus'] as const) {
    const conn = await slow.dial(multiaddr(n0.addresses()[0] ?? ''));
    await conn.newStream(protocolId(CHAIN_ID, p));
    await conn.close();
  }
  await new Promise((r) => setTimeout(r, 1500));
  expect(n0.penaltyPoints(peer)).toBe(0);
  expect(n0.isBanned(peer)).toBe(false);
  // A malformed request still costs points.
  const bad = await slow.dialProtocol(multiaddr(n0.addresses()[0] ?? ''), protocolId(CHAIN_ID, 'pex'));
  bad.send(Uint8Array.of(0, 0));
  await bad.close();
  await waitFor(() => n0.penaltyPoints(peer) > 0, 'the malformed request penalised', 10_000);
});
